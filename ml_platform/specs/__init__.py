"""Model specs: one module per model family, one entry in ``SPEC_MODULES`` to add it.

A spec trains a predictor from time-ordered frames, saves it as an MLflow model directory (no
pickles) and loads it back. Everything else (MLflow logging, the gate, serving, monitoring) works
through :class:`Predictor` and is spec-agnostic. Spec modules are imported on first use, so a serving
worker for a LightGBM model never imports torch.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterator, Mapping

from ml_platform.specs.base import ModelSpec, Predictor

SPEC_MODULES = {
    "lightgbm": "ml_platform.specs.lightgbm_spec",
    "torch_mlp": "ml_platform.specs.torch_mlp",
}


class _Specs(Mapping[str, ModelSpec]):
    def __getitem__(self, name: str) -> ModelSpec:
        if name not in SPEC_MODULES:
            raise KeyError(f"unknown model spec {name!r}; known: {sorted(SPEC_MODULES)}")
        return importlib.import_module(SPEC_MODULES[name]).SPEC

    def __iter__(self) -> Iterator[str]:
        return iter(SPEC_MODULES)

    def __len__(self) -> int:
        return len(SPEC_MODULES)


SPECS: Mapping[str, ModelSpec] = _Specs()

__all__ = ["SPECS", "SPEC_MODULES", "ModelSpec", "Predictor"]
