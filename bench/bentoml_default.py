"""The comparison point: the same model call behind BentoML's default configuration.

A sync ``@bentoml.api`` with a pydantic input, one worker, access logging and tracing as shipped.
Served by ``bench/serving.py`` only; the platform serves :mod:`ml_platform.serving.service`.
"""

import os
from pathlib import Path

import bentoml

from ml_platform.serving.app import MODEL_DIR_ENV
from ml_platform.serving.schemas import request_models
from ml_platform.serving.scoring import ServedModel

MODEL = ServedModel.load(Path(os.environ[MODEL_DIR_ENV]))
Flight = request_models(MODEL.contract)[0].model_fields["flight"].annotation


@bentoml.service(name="flight_delay_default")
class FlightDelayDefault:
    @bentoml.api
    def predict(self, flight: Flight) -> dict:  # type: ignore[valid-type]
        probability = float(MODEL.score_rows([flight.__dict__])[0])
        return {"probability": probability, "model_name": MODEL.name, "model_version": MODEL.version}
