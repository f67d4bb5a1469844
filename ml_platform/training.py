"""Train a candidate of any spec on a time-ordered window and evaluate it on the days after."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl

from ml_platform.evaluation import classification_metrics
from ml_platform.features import FeatureContract, labels
from ml_platform.specs import ModelSpec, Predictor

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class TrainWindow:
    """Train on [train_start, train_end]; validate on [valid_start, valid_end], strictly later."""

    train_start: date = date(2013, 1, 1)
    train_end: date = date(2013, 9, 30)
    valid_start: date = date(2013, 10, 1)
    valid_end: date = date(2013, 12, 31)

    def __post_init__(self) -> None:
        if not (self.train_start <= self.train_end < self.valid_start <= self.valid_end):
            raise ValueError(f"training window must be time-ordered and disjoint: {self}")

    @classmethod
    def trailing(cls, as_of: date, train_days: int, valid_days: int) -> TrainWindow:
        """``train_days`` up to and including ``as_of``, validated on the ``valid_days`` after it."""
        if train_days < 1 or valid_days < 1:
            raise ValueError(f"train_days and valid_days must be >= 1, got {train_days}, {valid_days}")
        return cls(as_of - timedelta(days=train_days - 1), as_of,
                   as_of + timedelta(days=1), as_of + timedelta(days=valid_days))

    def split(self, frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
        day = pl.col("flight_date")
        train = frame.filter(day.is_between(self.train_start, self.train_end))
        valid = frame.filter(day.is_between(self.valid_start, self.valid_end))
        for name, part in (("training", train), ("validation", valid)):
            if part.is_empty():
                raise ValueError(f"{name} window of {self} has no feature rows")
        return train, valid


@dataclass
class TrainedModel:
    spec: str
    predictor: Predictor
    contract: FeatureContract
    params: dict[str, Any]
    metrics: dict[str, float]
    feature_importance: dict[str, float]
    valid_labels: np.ndarray = field(repr=False)
    valid_predictions: np.ndarray = field(repr=False)
    train_rows: int = 0
    valid_rows: int = 0


def early_stopping_split(train: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The last tenth of the training days stops training; the holdout is never used for it."""
    days = train.get_column("flight_date").unique().sort()
    stop_from = days[int(len(days) * 0.9)]
    day = pl.col("flight_date")
    return train.filter(day < stop_from), train.filter(day >= stop_from)


def fit_candidate(
    spec: ModelSpec, train: pl.DataFrame, valid: pl.DataFrame, params: dict[str, Any] | None = None, seed: int = 13
) -> TrainedModel:
    """Fit ``spec`` on ``train`` and report honest holdout metrics on ``valid``."""
    params = {**spec.params, **(params or {})}
    contract = FeatureContract().fit(train)
    fit_part, stop_part = early_stopping_split(train)
    result = spec.fit(contract, fit_part, stop_part, params, seed)
    y = labels(valid)
    p = result.predictor.predict(contract.to_matrix(valid))
    metrics = {**classification_metrics(y, p), **result.info}
    log.info("%s holdout AUC %.4f", spec.name, metrics["auc"])
    return TrainedModel(
        spec=spec.name, predictor=result.predictor, contract=contract, params={**params, "seed": seed},
        metrics=metrics, feature_importance=result.feature_importance, valid_labels=y, valid_predictions=p,
        train_rows=train.height, valid_rows=valid.height,
    )
