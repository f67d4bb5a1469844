"""What a model was built from: a content hash of its data and the code version."""

from __future__ import annotations

import hashlib
import subprocess

import polars as pl

from ml_platform.settings import PROJECT_ROOT


def frame_hash(frame: pl.DataFrame) -> str:
    """Order-sensitive content hash of a frame (stable for one polars version)."""
    digest = hashlib.sha256()
    digest.update(",".join(f"{n}:{t}" for n, t in frame.schema.items()).encode())
    digest.update(frame.hash_rows(seed=0).to_numpy().tobytes())
    return digest.hexdigest()[:16]


def code_version() -> str:
    """The git commit of the checkout, marked dirty when it has uncommitted changes."""
    try:
        sha = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=PROJECT_ROOT, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"], cwd=PROJECT_ROOT, capture_output=True, text=True
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return f"{sha}-dirty" if dirty else sha
