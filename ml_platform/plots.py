"""PNG plots for MLflow artifacts and the Dagster UI (matplotlib, headless)."""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402


def _png(fig) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def calibration(y: np.ndarray, p: np.ndarray, title: str, bins: int = 10) -> bytes:
    """Observed delay rate against mean predicted probability per probability bin."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    filled = [b for b in range(bins) if (which == b).any()]
    fig, ax = plt.subplots(figsize=(4.5, 4))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect")
    ax.plot([p[which == b].mean() for b in filled], [y[which == b].mean() for b in filled], "o-", label="model")
    ax.set(xlabel="mean predicted P(delay)", ylabel="observed delay rate", title=title, xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper left")
    return _png(fig)


def importance(gains: dict[str, float], title: str, top: int = 15) -> bytes:
    items = list(gains.items())[:top][::-1]
    fig, ax = plt.subplots(figsize=(5, 0.3 * len(items) + 1))
    ax.barh([k for k, _ in items], [v for _, v in items])
    ax.set(xlabel="total gain", title=title)
    return _png(fig)
