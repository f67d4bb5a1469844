"""whylogs profiles, kept behind this one module so the profiler can be replaced."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import numpy as np
import polars as pl

if not hasattr(np, "unicode_"):  # whylogs 1.6 still references np.unicode_, removed in NumPy 2
    np.unicode_ = np.str_  # type: ignore[attr-defined]

import whylogs as why  # noqa: E402
from whylogs.core import DatasetProfileView  # noqa: E402

SUMMARY_COLUMNS = {
    "counts/n": "count",
    "counts/null": "nulls",
    "distribution/mean": "mean",
    "distribution/stddev": "stddev",
    "distribution/min": "min",
    "distribution/max": "max",
    "cardinality/est": "distinct",
}


def profile(frame: pl.DataFrame) -> DatasetProfileView:
    """Profile a frame; strings go in as object dtype, the form whylogs handles on NumPy 2."""
    pandas_frame = frame.to_pandas(use_pyarrow_extension_array=False)
    return why.log(pandas=pandas_frame).view()


def write(view: DatasetProfileView, path: Path) -> Path:
    """Serialize atomically: a reader never sees half a profile."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    os.close(fd)
    try:
        view.write(tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def read(path: Path) -> DatasetProfileView:
    return DatasetProfileView.read(str(path))


def summary(view: DatasetProfileView) -> pl.DataFrame:
    """Per-column count, nulls, mean, spread and cardinality, for people to read in the UI."""
    frame = view.to_pandas().reset_index(names="column")
    keep = ["column", *[c for c in SUMMARY_COLUMNS if c in frame.columns]]
    return pl.from_pandas(frame[keep]).rename(SUMMARY_COLUMNS)
