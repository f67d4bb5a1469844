"""The BentoML service: P(delay) for a scheduled flight from the MLflow champion."""

from __future__ import annotations

import os

import bentoml
import numpy as np

from ml_platform import registry
from ml_platform.serving.schemas import Flight, Prediction
from ml_platform.settings import MODEL_NAME


@bentoml.service(name="flight_delay", traffic={"timeout": 10}, workers=1)
class FlightDelay:
    """Loads the model once at start: the version pinned by the deployer, else the champion alias."""

    def __init__(self) -> None:
        pinned = os.environ.get("ML_PLATFORM_MODEL_VERSION") or None
        self.model = registry.load_model(MODEL_NAME, version=pinned)

    def _score(self, flights: list[Flight]) -> list[Prediction]:
        rows = np.array([self.model.contract.encode_row(f.model_dump()) for f in flights], dtype=np.float32)
        probabilities = self.model.predictor.predict(rows)
        return [
            Prediction(probability=float(p), model_name=MODEL_NAME, model_version=self.model.version)
            for p in probabilities
        ]

    @bentoml.api
    def predict(self, flight: Flight) -> Prediction:  # type: ignore[valid-type]
        return self._score([flight])[0]

    @bentoml.api
    def predict_batch(self, flights: list[Flight]) -> list[Prediction]:  # type: ignore[valid-type]
        return self._score(flights)
