"""The prediction endpoints as a plain Starlette app: mounted into the BentoML service, or run bare.

``POST /predict`` with ``{"flight": {...}}`` and ``POST /predict_batch`` with ``{"flights": [...]}`` take
a flight as known at schedule time and join its point-in-time features from the online snapshot
(:mod:`~ml_platform.serving.online`). ``/predict_features`` and ``/predict_features_batch`` take every
feature of the contract, for clients that hold their own point-in-time features (backfills, what-if
questions) and as the baseline that shows what the lookup costs. The hot path is pydantic-core's JSON
validation, dict lookups, the contract's cached category codes and the
:class:`~ml_platform.serving.scoring.MicroBatcher`; no DataFrame is built per request. Bad input is a
4xx whose body names the field; nothing a client sends can make it answer 5xx. With a shadow model,
each single-row answer is also scored by the challenger after the fact and logged, never returned.
"""

from __future__ import annotations

import logging
import os
from pathlib import Path

from pydantic import BaseModel, ValidationError
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from ml_platform.serving.online import OnlineFeatures
from ml_platform.serving.schemas import request_models, scheduled_models
from ml_platform.serving.scoring import MicroBatcher, ServedModel
from ml_platform.serving.shadow import Shadow

log = logging.getLogger(__name__)

MODEL_DIR_ENV = "ML_PLATFORM_MODEL_DIR"
ONLINE_FEATURES_ENV = "ML_PLATFORM_ONLINE_FEATURES"
MAX_SINGLE_BYTES = 64 * 1024
MAX_BATCH_BYTES = 16 * 1024 * 1024


class _TooLarge(Exception):
    pass


class Endpoints:
    """The served model, the online snapshot, the request schemas and the batcher, behind the routes."""

    def __init__(self, model: ServedModel, online: OnlineFeatures, shadow: Shadow | None = None) -> None:
        self.model = model
        self.online = online
        self.shadow = shadow
        self.single, self.batch = scheduled_models(model.contract, online)
        self.features_single, self.features_batch = request_models(model.contract)
        self.batcher = MicroBatcher(model)

    def _answer(self, probability: float) -> dict[str, object]:
        return {"probability": probability, "model_name": self.model.name, "model_version": self.model.version}

    async def _score(self, row: dict, request_id: str | None) -> JSONResponse:
        encoded = self.model.contract.encode_row(row)
        probability = await self.batcher.score(encoded)
        if self.shadow is not None:
            self.shadow.observe(request_id, encoded, probability)
        return JSONResponse(self._answer(probability))

    async def predict(self, request: Request) -> JSONResponse:
        parsed = await _parse(request, self.single, MAX_SINGLE_BYTES)
        if isinstance(parsed, JSONResponse):
            return parsed
        return await self._score(self.online.feature_row(parsed.flight.__dict__),  # type: ignore[attr-defined]
                                 parsed.request_id)  # type: ignore[attr-defined]

    async def predict_features(self, request: Request) -> JSONResponse:
        parsed = await _parse(request, self.features_single, MAX_SINGLE_BYTES)
        if isinstance(parsed, JSONResponse):
            return parsed
        return await self._score(parsed.flight.__dict__, parsed.request_id)  # type: ignore[attr-defined]

    async def predict_batch(self, request: Request) -> JSONResponse:
        parsed = await _parse(request, self.batch, MAX_BATCH_BYTES)
        if isinstance(parsed, JSONResponse):
            return parsed
        rows = [self.online.feature_row(f.__dict__) for f in parsed.flights]  # type: ignore[attr-defined]
        return self._score_rows(rows)

    async def predict_features_batch(self, request: Request) -> JSONResponse:
        parsed = await _parse(request, self.features_batch, MAX_BATCH_BYTES)
        if isinstance(parsed, JSONResponse):
            return parsed
        return self._score_rows([f.__dict__ for f in parsed.flights])  # type: ignore[attr-defined]

    def _score_rows(self, rows: list[dict]) -> JSONResponse:
        return JSONResponse([self._answer(float(p)) for p in self.model.score_rows(rows)])


async def _read_body(request: Request, limit: int) -> bytes:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise _TooLarge
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise _TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


async def _parse(request: Request, schema: type[BaseModel], limit: int) -> BaseModel | JSONResponse:
    """The validated body, or the 4xx response that says which field was wrong and why."""
    try:
        body = await _read_body(request, limit)
    except _TooLarge:
        return JSONResponse({"error": f"request body larger than {limit} bytes"}, status_code=413)
    try:
        return schema.model_validate_json(body)
    except ValidationError as exc:
        details = exc.errors(include_url=False, include_input=False)
        errors = [{"field": ".".join(str(part) for part in err["loc"]) or "body", "message": err["msg"]}
                  for err in details]
        malformed = any(err["type"] == "json_invalid" for err in details)
        return JSONResponse({"error": "malformed JSON" if malformed else "invalid request", "errors": errors},
                            status_code=400 if malformed else 422)


def create_app(endpoints: Endpoints | None = None) -> Starlette:
    """The routes; ``endpoints`` may be attached later (the BentoML service loads the model in ``__init__``)."""
    app = Starlette()
    app.state.endpoints = endpoints

    def route(name: str) -> Route:
        async def handle(request: Request) -> JSONResponse:
            return await getattr(request.app.state.endpoints, name)(request)

        return Route(f"/{name}", handle, methods=["POST"])

    app.router.routes.extend(route(name) for name in
                             ("predict", "predict_batch", "predict_features", "predict_features_batch"))
    return app


def load_endpoints() -> Endpoints:
    """The model directory and snapshot the deployer (or the pod's init container) put beside the service."""
    missing = [name for name in (MODEL_DIR_ENV, ONLINE_FEATURES_ENV) if not os.environ.get(name)]
    if missing:
        raise LookupError(f"{', '.join(missing)} not set: serve through `ml-platform` / the serving/service asset")
    model = ServedModel.load(Path(os.environ[MODEL_DIR_ENV]))
    return Endpoints(model, OnlineFeatures.load(Path(os.environ[ONLINE_FEATURES_ENV])), Shadow.from_env(model))


def bare_app() -> Starlette:
    """The same app without BentoML (``uvicorn --factory``): the baseline the benchmark compares with."""
    return create_app(load_endpoints())
