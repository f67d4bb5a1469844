"""The BentoML service: P(delay) for a flight as known at schedule time, from the MLflow champion.

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

import atexit
import gc
import sys

# LightGBM imports scikit-learn and pandas, when installed, for its sklearn-style wrappers and DataFrame
# inputs only; the service gives the Booster numpy arrays. Keeping them out of the worker saves ~2 s
# (scikit-learn) and ~0.9 s (pandas) of every start, so of every cold rollback, and ~65 + ~40 MiB of RSS
# per worker, measured. This is the entry module of `bentoml serve` and `bentoml build` only (the Dagster
# process never imports it), and nothing it imports needs either.
for _unused in ("sklearn", "pandas"):
    sys.modules.setdefault(_unused, None)  # type: ignore[arg-type]

import bentoml  # noqa: E402

from ml_platform.serving import BENTO_NAME
from ml_platform.serving.app import create_app, load_endpoints

HOT_PATH = "/predict$"  # a regex over the URL: the single-row route only, /predict_batch stays traced
app = create_app()


# BentoML's timeout middleware leaves every request's timer and future alive until the timeout passes, so
# a worker holds rate x timeout of them and each full garbage collection walks them all: at 3k requests/s
# a 10 s timeout kept ~30k and stalled requests 50-100 ms (p99 77 ms); 2 s is 4x the largest batch
# request (10,000 rows, ~0.5 s)
TIMEOUT_S = 2


@bentoml.service(
    name=BENTO_NAME,
    workers="cpu_count",
    traffic={"timeout": TIMEOUT_S},
    logging={"access": {"enabled": False}},
    tracing={"excluded_urls": [HOT_PATH]},
)
@bentoml.asgi_app(app, path="/")
class FlightDelay:
    """Loads the model and the online snapshot once per worker at start; ``/readyz`` answers once loaded."""

    def __init__(self) -> None:
        app.state.endpoints = load_endpoints()
        if app.state.endpoints.shadow is not None:
            atexit.register(app.state.endpoints.shadow.flush)  # the last half second of shadow rows
        # Everything loaded so far (BentoML, the model, the snapshot) lives as long as the worker: out of
        # the collector's reach, a full collection walks only what requests allocate, not the whole heap
        gc.collect()
        gc.freeze()

    def __is_ready__(self) -> bool:
        return app.state.endpoints is not None
