"""What a model family provides to the platform."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np

from ml_platform.features import FeatureContract

if TYPE_CHECKING:  # a serving worker never imports polars: ~0.4 s of every (re)start
    import polars as pl


class Predictor(Protocol):
    """A fitted model: probabilities for an encoded float32 matrix in contract order."""

    def predict(self, matrix: np.ndarray) -> np.ndarray: ...


@dataclass(frozen=True)
class FitResult:
    predictor: Predictor
    feature_importance: dict[str, float] = field(default_factory=dict)
    info: dict[str, float] = field(default_factory=dict)  # e.g. best_iteration, epochs, samples_per_s


FitFn = Callable[[FeatureContract, "pl.DataFrame", "pl.DataFrame", dict[str, Any], int], FitResult]


@dataclass(frozen=True)
class ModelSpec:
    """A model family: fit it (with early stopping on a later slice), save it, load it back."""

    name: str
    kinds: frozenset[str]
    fit: FitFn  # (contract, fit_part, stop_part, params, seed) -> FitResult
    save: Callable[[Predictor, Path, dict[str, Any]], None]  # writes model files + MLmodel into a new dir
    load: Callable[..., Predictor]  # (MLflow model dir, threads=None) -> Predictor; threads=1 for serving
    params: dict[str, Any] = field(default_factory=dict)
    k8s_config: dict[str, Any] = field(default_factory=dict)  # `dagster-k8s/config` for its training step
