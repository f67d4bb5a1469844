"""The model as the service holds it: a spec's predictor plus the feature contract, and the micro-batcher.

Nothing here imports MLflow or BentoML: a serving worker loads the directory that
:func:`ml_platform.registry.export_model` wrote, which keeps its memory small and its start fast.
"""

from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ml_platform.features import FeatureContract
from ml_platform.specs import SPECS, Predictor

log = logging.getLogger(__name__)


@dataclass
class ServedModel:
    """One registered model version, ready to score rows encoded by its own contract."""

    name: str
    version: str
    predictor: Predictor
    contract: FeatureContract

    @classmethod
    def load(cls, directory: Path, threads: int | None = 1) -> ServedModel:
        """``threads=1`` for serving (a request is a handful of rows, and thread fan-out costs ~25x the
        tree walk here); ``None`` for batch scoring, which gets the library's default of every core."""
        directory = Path(directory)
        info = json.loads((directory / "model.json").read_text())
        contract = FeatureContract.from_dict(json.loads((directory / "contract.json").read_text()))
        predictor = SPECS[info["spec"]].load(directory, threads=threads)
        log.info("loaded %s v%s (%s) from %s", info["name"], info["version"], info["spec"], directory)
        return cls(info["name"], str(info["version"]), predictor, contract)

    def predict(self, matrix: np.ndarray) -> np.ndarray:
        return self.predictor.predict(matrix)

    def score_rows(self, rows: list[dict[str, Any]]) -> np.ndarray:
        """P(delay) for contract-shaped dicts, encoded exactly as training encodes a frame."""
        return self.predict(np.array([self.contract.encode_row(r) for r in rows], dtype=np.float32))


class MicroBatcher:
    """Coalesces the single-row requests that arrive in one event-loop turn into one predict call.

    A LightGBM call costs ~200 us of fixed overhead and a few us per extra row, so under load the
    rows that uvicorn parsed together share one call; an idle service still answers each row at once
    (the flush runs on the next loop turn, not after a timer).
    """

    def __init__(self, model: ServedModel, max_batch: int = 256) -> None:
        self.model = model
        self.max_batch = max_batch
        self._pending: list[tuple[list[float], asyncio.Future[float]]] = []
        self._scheduled = False

    async def score(self, row: list[float]) -> float:
        loop = asyncio.get_running_loop()
        future: asyncio.Future[float] = loop.create_future()
        self._pending.append((row, future))
        if len(self._pending) >= self.max_batch:
            self._flush()
        elif not self._scheduled:
            self._scheduled = True
            loop.call_soon(self._flush)
        return await future

    def _flush(self) -> None:
        self._scheduled = False
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            probabilities = self.model.predict(np.array([row for row, _ in batch], dtype=np.float32))
        except Exception as exc:  # every waiting request gets the failure, none hangs
            for _, future in batch:
                if not future.done():
                    future.set_exception(exc)
            return
        for (_, future), probability in zip(batch, probabilities, strict=True):
            if not future.done():
                future.set_result(float(probability))
