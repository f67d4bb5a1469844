"""PNG plots for MLflow artifacts and the Dagster UI (matplotlib, headless)."""

from __future__ import annotations

import io

import numpy as np
from matplotlib.figure import Figure  # the object API: no pyplot state, safe in any thread, Agg by default

CHAR_INCHES = 0.075  # DejaVu Sans at 10 pt averages under this per character


def _png(fig: Figure, tight: bool = True) -> bytes:
    """PNG bytes; ``tight`` crops to what was drawn, which costs a second drawing pass."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=90, bbox_inches="tight" if tight else None)
    return buffer.getvalue()


def _bar_figure(labels: list[str], width: float, height: float) -> Figure:
    """A figure whose margins are set from its bar labels, so it saves without a measuring pass.

    Drift bars are drawn on every sensor tick of every partition; the second pass was a third of their time.
    """
    left = 0.3 + CHAR_INCHES * max(map(len, labels), default=1)
    fig = Figure(figsize=(width + left, height))
    fig.subplots_adjust(left=left / (width + left), right=1 - 0.15 / (width + left), top=1 - 0.35 / height,
                        bottom=0.55 / height)
    return fig


def calibration(y: np.ndarray, p: np.ndarray, title: str, bins: int = 10) -> bytes:
    """Observed delay rate against mean predicted probability per probability bin."""
    edges = np.linspace(0, 1, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    filled = [b for b in range(bins) if (which == b).any()]
    fig = Figure(figsize=(4.5, 4))
    ax = fig.subplots()
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect")
    ax.plot([p[which == b].mean() for b in filled], [y[which == b].mean() for b in filled], "o-", label="model")
    ax.set(xlabel="mean predicted P(delay)", ylabel="observed delay rate", title=title, xlim=(0, 1), ylim=(0, 1))
    ax.legend(loc="upper left")
    return _png(fig)


def importance(gains: dict[str, float], title: str, top: int = 15) -> bytes:
    items = list(gains.items())[:top][::-1]
    fig = _bar_figure([k for k, _ in items], 4, 0.3 * len(items) + 1)
    ax = fig.subplots()
    ax.barh([k for k, _ in items], [v for _, v in items])
    ax.set(xlabel="total gain", title=title)
    return _png(fig, tight=False)


def drift_bars(scores: dict[str, float], thresholds: dict[str, float], title: str) -> bytes:
    """Each feature's drift score against its threshold; the ones over it in red."""
    names = sorted(scores, key=scores.get)
    fig = _bar_figure(names, 4.5, 0.28 * len(names) + 1)
    ax = fig.subplots()
    over = [scores[n] > thresholds.get(n, np.inf) for n in names]
    ax.barh(names, [scores[n] for n in names], color=["tab:red" if o else "tab:blue" for o in over])
    ax.scatter([thresholds.get(n, np.nan) for n in names], names, marker="|", s=150, color="black", label="threshold")
    ax.set(xlabel="drift score (KS D / total variation)", xlim=(0, 1), title=title)
    ax.legend(loc="lower right")
    return _png(fig, tight=False)


def timeline(days: list, series: dict[str, list], events: list[tuple], ylabel: str, title: str,
             thresholds: dict[str, float] | None = None) -> bytes:
    """Lines over days, with a vertical marker per event ``(day, kind, colour)`` and one legend entry per kind.

    A year has a score of events: labels on each line would cover one another (the details belong in a table).
    """
    fig = Figure(figsize=(10, 3.6))
    ax = fig.subplots()
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
