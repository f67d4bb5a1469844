"""Model specs: one module per model family, one entry in ``SPECS`` to add it.

A spec trains a :class:`~ml_platform.training.TrainedModel` from time-ordered frames, saves its
predictor as an MLflow model directory (no pickles) and loads it back. Everything else (MLflow
logging, the gate, serving, monitoring) works through :class:`Predictor` and is spec-agnostic.
"""

from __future__ import annotations

from ml_platform.specs import lightgbm_spec, torch_mlp
from ml_platform.specs.base import ModelSpec, Predictor

SPECS: dict[str, ModelSpec] = {
    spec.name: spec
    for spec in (
        lightgbm_spec.SPEC,
        torch_mlp.SPEC,
    )
}

__all__ = ["SPECS", "ModelSpec", "Predictor"]
