"""Build one candidate model: read the window, train a spec, log and register it in MLflow."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ml_platform import lineage, registry, training
from ml_platform.specs import SPECS
from ml_platform.training import TrainedModel, TrainWindow


@dataclass
class Candidate:
    model: TrainedModel
    record: registry.CandidateRecord
    data_hash: str


def build_candidate(frame: pl.DataFrame, window: TrainWindow, spec: str, model_name: str) -> Candidate:
    """Train ``spec`` on ``window`` of ``frame`` and register it as that spec's newest candidate."""
    if spec not in SPECS:
        raise KeyError(f"unknown model spec {spec!r}; known: {sorted(SPECS)}")
    registry.prepare_model_logging()
    train, valid = window.split(frame)
    model = training.fit_candidate(SPECS[spec], train, valid)
    data_hash = lineage.frame_hash(frame)
    record = registry.log_candidate(model, window, model_name, data_hash, lineage.code_version())
    return Candidate(model=model, record=record, data_hash=data_hash)
