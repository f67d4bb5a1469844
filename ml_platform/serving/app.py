"""The prediction endpoints as a plain Starlette app: mounted into the BentoML service, or run bare.

``POST /predict`` with ``{"flight": {...}}`` and ``POST /predict_batch`` with ``{"flights": [...]}``.
The hot path is pydantic-core's JSON validation, the contract's cached category codes, and the
:class:`~ml_platform.serving.scoring.MicroBatcher`; no DataFrame is built per request. Bad input is a
4xx whose body names the field; nothing a client sends can make it answer 5xx.
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

from ml_platform.serving.schemas import request_models
from ml_platform.serving.scoring import MicroBatcher, ServedModel

log = logging.getLogger(__name__)

MODEL_DIR_ENV = "ML_PLATFORM_MODEL_DIR"
MAX_SINGLE_BYTES = 64 * 1024
MAX_BATCH_BYTES = 16 * 1024 * 1024


class _TooLarge(Exception):
    pass


class Endpoints:
    """The served model, its request schemas and its batcher, behind the two routes."""

    def __init__(self, model: ServedModel) -> None:
        self.model = model
        self.single, self.batch = request_models(model.contract)
        self.batcher = MicroBatcher(model)

    def _answer(self, probability: float) -> dict[str, object]:
        return {"probability": probability, "model_name": self.model.name, "model_version": self.model.version}

    async def predict(self, request: Request) -> JSONResponse:
        parsed = await _parse(request, self.single, MAX_SINGLE_BYTES)
        if isinstance(parsed, JSONResponse):
            return parsed
        row = self.model.contract.encode_row(parsed.flight.__dict__)  # type: ignore[attr-defined]
        return JSONResponse(self._answer(await self.batcher.score(row)))

    async def predict_batch(self, request: Request) -> JSONResponse:
        parsed = await _parse(request, self.batch, MAX_BATCH_BYTES)
        if isinstance(parsed, JSONResponse):
            return parsed
        probabilities = self.model.score_rows([f.__dict__ for f in parsed.flights])  # type: ignore[attr-defined]
        return JSONResponse([self._answer(float(p)) for p in probabilities])


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

    async def predict(request: Request) -> JSONResponse:
        return await request.app.state.endpoints.predict(request)

    async def predict_batch(request: Request) -> JSONResponse:
        return await request.app.state.endpoints.predict_batch(request)

    app.router.routes.extend([
        Route("/predict", predict, methods=["POST"]),
        Route("/predict_batch", predict_batch, methods=["POST"]),
    ])
    return app


def bare_app() -> Starlette:
    """The same app without BentoML (``uvicorn --factory``): the baseline the benchmark compares with."""
    return create_app(Endpoints(ServedModel.load(Path(os.environ[MODEL_DIR_ENV]))))
