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


def drift_bars(scores: dict[str, float], thresholds: dict[str, float], title: str) -> bytes:
    """Each feature's drift score against its threshold; the ones over it in red."""
    names = sorted(scores, key=scores.get)
    fig, ax = plt.subplots(figsize=(5.5, 0.28 * len(names) + 1))
    over = [scores[n] > thresholds.get(n, np.inf) for n in names]
    ax.barh(names, [scores[n] for n in names], color=["tab:red" if o else "tab:blue" for o in over])
    ax.scatter([thresholds.get(n, np.nan) for n in names], names, marker="|", s=150, color="black", label="threshold")
    ax.set(xlabel="drift score (KS D / total variation)", xlim=(0, 1), title=title)
    ax.legend(loc="lower right")
    return _png(fig)


def timeline(days: list, series: dict[str, list], events: list[tuple], ylabel: str, title: str,
             thresholds: dict[str, float] | None = None) -> bytes:
    """Lines over days, with a vertical marker per event ``(day, kind, colour)`` and one legend entry per kind.

    A year has a score of events: labels on each line would cover one another (the details belong in a table).
    """
    fig, ax = plt.subplots(figsize=(10, 3.6))
    for name, values in series.items():
        ax.plot(days, [np.nan if v is None else v for v in values], label=name, linewidth=1.2)
    for (label, value), style in zip((thresholds or {}).items(), ("--", "-."), strict=False):
        ax.axhline(value, linestyle=style, color="grey", linewidth=1, label=label)
    kinds: set[str] = set()
    for day, kind, colour in events:
        ax.axvline(day, color=colour, alpha=0.7, linewidth=1.2, linestyle=":" if kind == "rejected" else "-",
                   label=None if kind in kinds else kind)
        kinds.add(kind)
    ax.set(ylabel=ylabel, title=title)
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=7)
    fig.autofmt_xdate()
    return _png(fig)
