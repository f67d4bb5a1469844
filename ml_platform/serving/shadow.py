"""Shadow scoring: the challenger scores what the champion answered, after the answer, and is only logged.

The same encoded row the champion scored goes to the challenger, so the pair differs only by model.
Rows are scored in batches off the request path (a timer on the event loop) and appended to one JSON
lines file per worker; ``serving/champion_vs_challenger`` joins them with the labels once they land
(``request_id`` is the client's flight id). Nothing the shadow does can change or fail a response: its
errors are counted and logged.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import time
import uuid
from pathlib import Path

import numpy as np

from ml_platform.serving.scoring import ServedModel

log = logging.getLogger(__name__)

SHADOW_MODEL_DIR_ENV = "ML_PLATFORM_SHADOW_MODEL_DIR"
SHADOW_LOG_DIR_ENV = "ML_PLATFORM_SHADOW_LOG_DIR"


def log_path(log_dir: Path, champion: str, challenger: str) -> Path:
    """One file per worker process, so concurrent workers never interleave lines."""
    return Path(log_dir) / f"v{champion}-vs-v{challenger}.{os.getpid()}.jsonl"


class Shadow:
    def __init__(self, challenger: ServedModel, champion_version: str, path: Path, flush_s: float = 0.5,
                 max_rows: int = 1024) -> None:
        self.challenger = challenger
        self.champion_version = champion_version
        self.path = Path(path)
        self.flush_s = flush_s
        self.max_rows = max_rows
        self.failures = 0
        self._pending: list[tuple[str, list[float], float]] = []
        self._timer: asyncio.TimerHandle | None = None

    @classmethod
    def from_env(cls, champion: ServedModel) -> Shadow | None:
        """The shadow the deployer configured for this worker, if any."""
        model_dir, log_dir = os.environ.get(SHADOW_MODEL_DIR_ENV), os.environ.get(SHADOW_LOG_DIR_ENV)
        if not model_dir or not log_dir:
            return None
        challenger = ServedModel.load(Path(model_dir))
        Path(log_dir).mkdir(parents=True, exist_ok=True)
        return cls(challenger, champion.version, log_path(Path(log_dir), champion.version, challenger.version))

    def observe(self, request_id: str | None, row: list[float], champion_probability: float) -> None:
        """Queue one answered row; never raises."""
        try:
            self._pending.append((request_id or uuid.uuid4().hex, row, champion_probability))
            if len(self._pending) >= self.max_rows:
                self.flush()
            elif self._timer is None:
                self._timer = asyncio.get_running_loop().call_later(self.flush_s, self.flush)
        except Exception:
            self._failed("queue")

    def flush(self) -> None:
        """Score the queued rows with the challenger and append them to the log."""
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        batch, self._pending = self._pending, []
        if not batch:
            return
        try:
            probabilities = self.challenger.predict(np.array([row for _, row, _ in batch], dtype=np.float32))
            now = time.time()
            lines = [json.dumps({"request_id": rid, "champion_version": self.champion_version, "champion": p,
                                 "challenger_version": self.challenger.version, "challenger": float(q),
                                 "logged_at": now})
                     for (rid, _, p), q in zip(batch, probabilities, strict=True)]
            with open(self.path, "a") as out:
                out.write("\n".join(lines) + "\n")
        except Exception:
            self._failed(f"{len(batch)} rows")

    def _failed(self, what: str) -> None:
        self.failures += 1
        log.exception("shadow scoring by v%s failed (%s); responses are unaffected", self.challenger.version, what)
