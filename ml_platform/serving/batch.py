"""Batch scoring: a window of feature rows from the warehouse through the champion, into the lake.

Vectorised end to end: the contract encodes the whole frame with polars, LightGBM scores the
matrix on every core, and the predictions are one Parquet file per window (replaced on a re-run).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import date

import polars as pl

from ml_platform.features import KEY_COLUMNS
from ml_platform.lake import Location, join, table_dir, write_atomic
from ml_platform.serving.scoring import ServedModel


@dataclass(frozen=True)
class BatchResult:
    path: Location
    rows: int
    seconds: float

    @property
    def rows_per_s(self) -> float:
        return self.rows / self.seconds if self.seconds else 0.0


def score_frame(model: ServedModel, frame: pl.DataFrame) -> pl.DataFrame:
    """The key columns, P(delay) and the model version for every feature row."""
    probabilities = model.predict(model.contract.to_matrix(frame))
    return frame.select(KEY_COLUMNS).with_columns(
        pl.Series("probability", probabilities, dtype=pl.Float64),
        pl.lit(model.version).alias("model_version"),
    )


def score_to_lake(model: ServedModel, frame: pl.DataFrame, lake: Location, start: date, end: date) -> BatchResult:
    """Score ``frame`` and write it as ``serving/batch_predictions/<start>_<end>.parquet``."""
    if frame.is_empty():
        raise ValueError(f"no feature rows between {start} and {end}: materialize features for that window")
    started = time.perf_counter()
    predictions = score_frame(model, frame)
    seconds = time.perf_counter() - started
    path = write_atomic(predictions, join(table_dir(lake, "serving", "batch_predictions"), f"{start}_{end}.parquet"))
    return BatchResult(path, predictions.height, seconds)
