"""An append-only JSON-lines log of registry decisions (promotions, rejections, rollbacks)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def append(path: Path, event: dict[str, Any]) -> None:
    """One line per event, written with a single O_APPEND write and fsync'd."""
    path.parent.mkdir(parents=True, exist_ok=True)
    line = (json.dumps(event, sort_keys=True, default=str) + "\n").encode()
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    try:
        os.write(fd, line)
        os.fsync(fd)
    finally:
        os.close(fd)


def read(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
