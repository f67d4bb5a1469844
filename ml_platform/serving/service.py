"""The BentoML service: P(delay) for a scheduled flight from the MLflow champion.

The endpoints are a Starlette app mounted with ``@bentoml.asgi_app`` rather than ``@bentoml.api``
methods: measured on 2 cores, BentoML's per-call machinery (IO descriptors, its own validation, a
thread hop for sync APIs) costs 4-8x the model, while a mounted app keeps BentoML's server, worker
management, ``/livez`` ``/readyz`` ``/metrics`` (Prometheus) and middleware. Two middlewares are
configured off the single-row hot path, by BentoML's own config: access logging (one log line per
request; the Prometheus metrics carry the same counts and latencies) and OpenTelemetry tracing of
``/predict`` (its span bookkeeping cost ~2x the whole rest of a request, measured; no exporter is
configured locally, and ``/predict_batch`` stays traced).
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

import bentoml

from ml_platform.serving.app import MODEL_DIR_ENV, Endpoints, create_app
from ml_platform.serving.scoring import ServedModel

HOT_PATH = "/predict$"  # a regex over the URL: the single-row route only, /predict_batch stays traced
app = create_app()


def _load() -> ServedModel:
    """The directory the deployer exported (no MLflow import); else the champion straight from MLflow."""
    directory = os.environ.get(MODEL_DIR_ENV)
    if directory:
        return ServedModel.load(Path(directory))
    from ml_platform import registry
    from ml_platform.settings import MODEL_NAME

    version = os.environ.get("ML_PLATFORM_MODEL_VERSION") or registry.alias_version(MODEL_NAME, registry.CHAMPION)
    if version is None:
        raise LookupError(f"{MODEL_NAME} has no champion alias and {MODEL_DIR_ENV} is not set")
    return ServedModel.load(registry.export_model(MODEL_NAME, version, Path(tempfile.mkdtemp())))


@bentoml.service(
    name="flight_delay",
    workers="cpu_count",
    traffic={"timeout": 10},
    logging={"access": {"enabled": False}},
    tracing={"excluded_urls": [HOT_PATH]},
)
@bentoml.asgi_app(app, path="/")
class FlightDelay:
    """Loads the model once per worker at start; ``/readyz`` answers once it is loaded."""

    def __init__(self) -> None:
        app.state.endpoints = Endpoints(_load())

    def __is_ready__(self) -> bool:
        return app.state.endpoints is not None
