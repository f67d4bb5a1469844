"""Train a LightGBM candidate on a time-ordered window and evaluate it on the days after."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date

import lightgbm as lgb
import numpy as np
import polars as pl

from ml_platform.evaluation import classification_metrics
from ml_platform.features import LABEL, FeatureContract

log = logging.getLogger(__name__)

DEFAULT_PARAMS: dict[str, object] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 63,
    "min_data_in_leaf": 100,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "max_rounds": 1000,
    "early_stopping_rounds": 50,
}


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
    booster: lgb.Booster
    contract: FeatureContract
    params: dict[str, object]
    metrics: dict[str, float]
    feature_importance: dict[str, float]
    valid_predictions: np.ndarray = field(repr=False)
    train_rows: int = 0
    valid_rows: int = 0


def train_lightgbm(
    train: pl.DataFrame, valid: pl.DataFrame, params: dict[str, object] | None = None, seed: int = 13
) -> TrainedModel:
    """Fit with early stopping on the last tenth of the training days; report holdout metrics.

    The holdout is never used for early stopping, so its metrics are an honest estimate.
    """
    params = {**DEFAULT_PARAMS, **(params or {})}
    max_rounds = int(params.pop("max_rounds"))
    patience = int(params.pop("early_stopping_rounds"))
    contract = FeatureContract().fit(train)

    days = train.get_column("flight_date").unique().sort()
    stop_from = days[int(len(days) * 0.9)]
    fit_part = train.filter(pl.col("flight_date") < stop_from)
    stop_part = train.filter(pl.col("flight_date") >= stop_from)

    categorical = [contract.names.index(c) for c in contract.categorical]
    lgb_params = {**params, "seed": seed, "deterministic": True, "num_threads": 2, "verbose": -1}

    def dataset(frame: pl.DataFrame, reference: lgb.Dataset | None = None) -> lgb.Dataset:
        return lgb.Dataset(
            contract.to_matrix(frame),
            label=frame.get_column(LABEL).cast(pl.Int8).to_numpy(),
            feature_name=contract.names,
            categorical_feature=categorical,
            reference=reference,
            free_raw_data=True,
        )

    fit_set = dataset(fit_part)
    booster = lgb.train(
        lgb_params,
        fit_set,
        num_boost_round=max_rounds,
        valid_sets=[dataset(stop_part, fit_set)],
        callbacks=[lgb.early_stopping(patience, verbose=False), lgb.log_evaluation(0)],
    )
    log.info("lightgbm stopped at %s rounds", booster.best_iteration)

    p = booster.predict(contract.to_matrix(valid), num_iteration=booster.best_iteration)
    metrics = classification_metrics(valid.get_column(LABEL).cast(pl.Int8).to_numpy(), p)
    metrics["best_iteration"] = float(booster.best_iteration)
    gains = booster.feature_importance(importance_type="gain")
    importance = dict(sorted(zip(contract.names, (float(g) for g in gains)), key=lambda kv: -kv[1]))
    return TrainedModel(
        booster=booster,
        contract=contract,
        params={**lgb_params, "max_rounds": max_rounds, "early_stopping_rounds": patience},
        metrics=metrics,
        feature_importance=importance,
        valid_predictions=p,
        train_rows=train.height,
        valid_rows=valid.height,
    )
