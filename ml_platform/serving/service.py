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
import sys
from pathlib import Path

# LightGBM imports scikit-learn, when installed, for its sklearn-style wrappers only; the service uses
# the Booster alone. Keeping it out of the worker saves ~2 s of every start (so of every rollback) and
# ~65 MiB of RSS per worker, measured. This is the entry module of `bentoml serve` and `bentoml build`
# only (the Dagster process never imports it), and nothing it imports needs scikit-learn.
sys.modules.setdefault("sklearn", None)  # type: ignore[arg-type]

import bentoml  # noqa: E402

from ml_platform.serving.app import MODEL_DIR_ENV, Endpoints, create_app
from ml_platform.serving.scoring import ServedModel

HOT_PATH = "/predict$"  # a regex over the URL: the single-row route only, /predict_batch stays traced
app = create_app()


def _load() -> ServedModel:
    """The model directory the deployer (or the pod's init container) fetched from MLflow."""
    directory = os.environ.get(MODEL_DIR_ENV)
    if not directory:
        raise LookupError(f"{MODEL_DIR_ENV} is not set: serve through `ml-platform` / the serving/service asset, "
                          "or fetch a model first (python -m ml_platform.serving.fetch_model --dest DIR)")
    return ServedModel.load(Path(directory))


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
