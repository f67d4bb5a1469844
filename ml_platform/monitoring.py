"""Score a feature window with a served model and profile what it saw and said."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl
from whylogs.core import DatasetProfileView

from ml_platform import profiling
from ml_platform.registry import LoadedModel

PREDICTION = "prediction"


@dataclass
class ScoredProfile:
    scored: pl.DataFrame
    view: DatasetProfileView


def score(frame: pl.DataFrame, model: LoadedModel) -> pl.DataFrame:
    """The contract's features plus the model's probability, one row per flight."""
    probabilities = model.predict_frame(frame)
    return frame.select(["flight_date", *model.contract.names]).with_columns(
        pl.Series(PREDICTION, probabilities, dtype=pl.Float64)
    )


def profile_scored(frame: pl.DataFrame, model: LoadedModel) -> ScoredProfile:
    scored = score(frame, model)
    return ScoredProfile(scored=scored, view=profiling.profile(scored.drop("flight_date")))
