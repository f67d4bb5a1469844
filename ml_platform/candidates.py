"""Build one candidate model: read the window, train, log and register it in MLflow."""

from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ml_platform import lineage, registry, training
from ml_platform.training import TrainedModel, TrainWindow


@dataclass
class Candidate:
    model: TrainedModel
    record: registry.CandidateRecord
    data_hash: str


def build_candidate(frame: pl.DataFrame, window: TrainWindow, model_name: str) -> Candidate:
    """Train on ``window`` of ``frame`` and register the result as the new ``challenger``."""
    train, valid = window.split(frame)
    model = training.train_lightgbm(train, valid)
    data_hash = lineage.frame_hash(frame)
    record = registry.log_candidate(model, window, model_name, data_hash, lineage.code_version())
    return Candidate(model=model, record=record, data_hash=data_hash)
