"""LightGBM gradient-boosted trees with native categorical splits and early stopping."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import lightgbm as lgb
import numpy as np

from ml_platform.features import FeatureContract, labels
from ml_platform.specs.base import FitResult, ModelSpec

if TYPE_CHECKING:
    import polars as pl

log = logging.getLogger(__name__)

PARAMS: dict[str, Any] = {
    "objective": "binary",
    "learning_rate": 0.05,
    "num_leaves": 63,
    "min_data_in_leaf": 100,
    "feature_fraction": 0.8,
    "bagging_fraction": 0.8,
    "bagging_freq": 1,
    "lambda_l2": 1.0,
    "max_rounds": 1000,
    # 20, not 50: over the 18 windows a year's replay retrains on, waiting 50 rounds found later "best"
    # rounds that fit the stopping days, not the holdout (bench/results/training_params.json: holdout AUC
    # +0.0007, log-loss -0.0012, ECE -0.0014 on average with 20; worst AUC -0.0009; 28 % less fit time)
    "early_stopping_rounds": 20,
    "num_threads": 2,
}


@dataclass
class LightGBMPredictor:
    booster: lgb.Booster
    threads: int | None = None  # 1 when serving: OpenMP fan-out costs ~25x the tree walk of a few rows

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        extra = {"num_threads": self.threads} if self.threads else {}
        return self.booster.predict(matrix, num_iteration=self.booster.best_iteration or None, **extra)


def fit(
    contract: FeatureContract, fit_part: pl.DataFrame, stop_part: pl.DataFrame, params: dict[str, Any], seed: int
) -> FitResult:
    params = dict(params)
    max_rounds = int(params.pop("max_rounds"))
    patience = int(params.pop("early_stopping_rounds"))
    categorical = [contract.names.index(c) for c in contract.categorical]

    def dataset(frame: pl.DataFrame, reference: lgb.Dataset | None = None) -> lgb.Dataset:
        return lgb.Dataset(contract.to_matrix(frame), label=labels(frame), feature_name=contract.names,
                           categorical_feature=categorical, reference=reference, free_raw_data=True)

    fit_set = dataset(fit_part)
    booster = lgb.train(
        {**params, "seed": seed, "deterministic": True, "verbose": -1},
        fit_set,
        num_boost_round=max_rounds,
        valid_sets=[dataset(stop_part, fit_set)],
        callbacks=[lgb.early_stopping(patience, verbose=False), lgb.log_evaluation(0)],
    )
    log.info("lightgbm stopped at %s rounds", booster.best_iteration)
    gains = booster.feature_importance(importance_type="gain")
    importance = dict(sorted(zip(contract.names, map(float, gains)), key=lambda kv: -kv[1]))
    return FitResult(LightGBMPredictor(booster), importance, {"best_iteration": float(booster.best_iteration)})


def save(predictor: LightGBMPredictor, path: Path, metadata: dict[str, Any]) -> None:
    """MLflow's own lightgbm flavor: the booster as a text file, nothing pickled.

    The flavor's own pinned requirements are given: left to infer them, MLflow imports the model in a
    subprocess to see what it pulls in (4.3 s of a 5 s fit, measured).
    """
    import mlflow.lightgbm

    mlflow.lightgbm.save_model(predictor.booster, str(path), metadata=metadata,
                               pip_requirements=mlflow.lightgbm.get_default_pip_requirements())


def load(path: Path, threads: int | None = None) -> LightGBMPredictor:
    return LightGBMPredictor(lgb.Booster(model_file=str(path / "model.lgb")), threads)


SPEC = ModelSpec(name="lightgbm", kinds=frozenset({"lightgbm"}), fit=fit, save=save, load=load, params=PARAMS)
