"""The Parquet lake: atomic, idempotent writes of one file per table slice (a whole table or one day)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import polars as pl

from ml_platform.atomic import replacing


def table_dir(lake: Path, layer: str, table: str) -> Path:
    return lake / layer / table


def partition_path(lake: Path, layer: str, table: str, day: date) -> Path:
    """The file holding one daily partition of a table."""
    return table_dir(lake, layer, table) / f"{day.isoformat()}.parquet"


def write_atomic(frame: pl.DataFrame, path: Path) -> Path:
    """Write ``frame`` to ``path`` (Parquet, or CSV with ``NA`` for nulls when the name ends in .csv)
    via a temp file in the same directory and a rename.

    A reader sees the old file or the new one, never half of either; writing the same slice again
    replaces it instead of adding a second copy.
    """
    with replacing(path) as tmp:
        if path.suffix == ".csv":
            frame.write_csv(tmp, null_value="NA")
        else:
            frame.write_parquet(tmp, compression="zstd", statistics=True)
    return path
