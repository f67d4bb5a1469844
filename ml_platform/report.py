"""The replay report: one HTML page with PNG plots of what the served model did and why it changed."""

from __future__ import annotations

import html
import json
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from ml_platform import atomic, plots
from ml_platform.monitoring import MonitoringStore
from ml_platform.retraining import RetrainPolicy

EVENT_COLOURS = {"promoted": "tab:green", "rejected": "tab:orange", "retrain": "tab:purple", "drift": "tab:red",
                 "failed": "black"}


@dataclass(frozen=True)
class Event:
    """Something that happened on a data day: a retrain request, a promotion, an injected drift."""

    day: date
    kind: str
    detail: str


@dataclass
class ReportData:
    title: str
    summary: dict[str, Any]
    events: list[Event] = field(default_factory=list)
    step_seconds: dict[str, float] = field(default_factory=dict)  # wall seconds per Dagster step, all runs summed
    wall_s: float = 0.0


def _series(records: dict[date, dict], days: list[date], *path: str) -> list:
    values = []
    for day in days:
        value: Any = records.get(day, {})
        for key in path:
            value = (value or {}).get(key)
        values.append(value)
    return values


def _thresholds(policy: RetrainPolicy, features: list[str]) -> dict[str, float]:
    """One line per distinct threshold of the plotted features, labelled with the features it applies to."""
    by_value: dict[float, list[str]] = {}
    for feature in features:
        by_value.setdefault(policy.threshold(feature), []).append(feature)
    return {f"threshold ({', '.join(names)})": value for value, names in sorted(by_value.items())}


def slowest_first(step_seconds: dict[str, float]) -> dict[str, float]:
    """Seconds per step to a tenth, the slowest step first: the report's and the benchmark's order."""
    return {step: round(seconds, 1) for step, seconds in sorted(step_seconds.items(), key=lambda kv: -kv[1])}


def _time_section(steps: dict[str, float], wall_s: float) -> str:
    """Seconds and share of the wall time per step, then what no step accounts for (sensor ticks, run start and end)."""
    if not wall_s:
        return ""
    rows = [*steps.items(), ("outside the steps (sensors, starting and ending runs)", wall_s - sum(steps.values()))]
    cells = "".join(f"<tr><td>{html.escape(step)}</td><td>{seconds:.1f}</td><td>{seconds / wall_s:.0%}</td></tr>"
                    for step, seconds in rows)
    head = "<tr><th>step</th><th>seconds</th><th>share of the replay</th></tr>"
    return f"<h2>Where the time went</h2><table>{head}{cells}</table>\n"


def write(store: MonitoringStore, data: ReportData, policy: RetrainPolicy, out_dir: Path, top: int = 6) -> Path:
    """Write ``index.html`` plus its PNGs to ``out_dir`` and return the page's path."""
    drift, live = store.drift(), store.live()
    days = sorted(drift.keys() | live.keys())
    # every retrain ends promoted or rejected on its day: those two say more, the table below says why
    marks = [(e.day, e.kind, EVENT_COLOURS.get(e.kind, "grey")) for e in data.events if e.kind != "retrain"]
    peaks = {f: max((drift[d]["scores"].get(f, 0.0) for d in drift), default=0.0) for f in policy.monitored}
    watched = sorted(peaks, key=lambda f: -peaks[f])[:top]
    images = {
        "performance.png": plots.timeline(days, {
            "daily AUC": _series(live, days, "metrics", "auc"),
            "trailing 7-day AUC": _series(live, days, "trend", "auc")}, marks, "AUC",
            "AUC of the served champion on each day's flights"),
        "drift.png": plots.timeline(days, {f: _series(drift, days, "scores", f) for f in watched}, marks,
                                    "drift score", f"drift against the champion's reference (top {top} features)",
                                    thresholds=_thresholds(policy, watched)),
        "versions.png": plots.timeline(days, {"champion version": [
            int(v) if v else None for v in _series(live, days, "model_version")]}, marks, "version",
            "which champion served each day"),
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    for name, image in images.items():
        atomic.write_bytes(out_dir / name, image)
    summary_rows = "".join(f"<tr><th>{html.escape(str(k))}</th><td>{html.escape(str(v))}</td></tr>"
                           for k, v in data.summary.items())
    steps = slowest_first(data.step_seconds)
    event_rows = "".join(f"<tr><td>{e.day}</td><td>{html.escape(e.kind)}</td><td>{html.escape(e.detail)}</td></tr>"
                         for e in data.events)
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><title>{html.escape(data.title)}</title>
<style>body{{font-family:sans-serif;max-width:1000px;margin:2em auto}}td,th{{padding:2px 8px;text-align:left}}
table{{border-collapse:collapse}}tr:nth-child(even){{background:#f4f4f4}}</style></head><body>
<h1>{html.escape(data.title)}</h1>
<table>{summary_rows}</table>
<h2>Served model performance</h2><img src="performance.png" alt="daily AUC">
<h2>Drift</h2><img src="drift.png" alt="drift scores">
<h2>Champion versions</h2><img src="versions.png" alt="champion versions">
<h2>Events</h2><table><tr><th>day</th><th>event</th><th>detail</th></tr>{event_rows}</table>
{_time_section(steps, data.wall_s)}</body></html>
"""
    page_path = atomic.write_text(out_dir / "index.html", page)
    atomic.write_text(out_dir / "summary.json", json.dumps(
        {**data.summary, "events": [{"day": e.day.isoformat(), "kind": e.kind, "detail": e.detail}
                                    for e in data.events],
         "step_seconds": steps}, indent=2, default=str))
    return page_path
