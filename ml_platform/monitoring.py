"""Daily monitoring of the served model: profiles, drift against its reference, live performance.

Everything lives under the lake's ``monitoring/`` folder (a local folder or the object-store lake), one
file per day and kind, written atomically so a re-run of a day replaces it; nothing is appended to, which
object stores cannot do::

    reference.json, reference/v<version>.bin   the champion's reference profile and what it covers
    profiles/<day>.bin                          the day's features and predictions (whylogs)
    drift/<day>.json                            per-feature drift scores against the reference
    live/<day>.json                             the served model's metrics on the day's labelled flights
    predictions/<day>.parquet                   its predictions with labels, for the trailing trend
    decisions/<day>.json                        the retrain decision on the day and why
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from datetime import date, timedelta
from typing import Any

import numpy as np
import polars as pl
from whylogs.core import DatasetProfileView

from ml_platform import lake, profiling
from ml_platform.days import days_between
from ml_platform.evaluation import classification_metrics
from ml_platform.features import LABEL, labels
from ml_platform.registry import LoadedModel
from ml_platform.retraining import Decision, Signal

PREDICTION = "prediction"
TREND_DAYS = 7  # live AUC is judged on a trailing week: one day's few hundred flights are too noisy
DRIFT_DAYS = 7  # drift too: one day has one weather situation and three origin volumes


@dataclass(frozen=True)
class Reference:
    """The champion's reference profile: the last days of the window it was trained on."""

    version: str
    spec: str
    start: date
    end: date
    rows: int
    holdout_auc: float

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "start": self.start.isoformat(), "end": self.end.isoformat()}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reference:
        return cls(**{**data, "start": date.fromisoformat(data["start"]), "end": date.fromisoformat(data["end"])})


def score(frame: pl.DataFrame, model: LoadedModel) -> pl.DataFrame:
    """The contract's features plus the model's probability, one row per flight."""
    probabilities = model.predict_frame(frame)
    return frame.select(["flight_date", *model.contract.names]).with_columns(
        pl.Series(PREDICTION, probabilities, dtype=pl.Float64)
    )


def profiled_columns(frame: pl.DataFrame, model: LoadedModel | None, columns: list[str]) -> pl.DataFrame:
    """The day, the features and, when there is a model, its predictions: what a profile holds, by day."""
    return score(frame, model) if model is not None else frame.select(["flight_date", *columns])


def profile_scored(frame: pl.DataFrame, model: LoadedModel | None, columns: list[str]) -> DatasetProfileView:
    """Profile the features (and the model's predictions, when there is a model)."""
    return profiling.profile(profiled_columns(frame, model, columns).drop("flight_date"))


def live_metrics(y: np.ndarray, p: np.ndarray) -> dict[str, float] | None:
    """AUC, log-loss, Brier, calibration; None when the flights are all one class (AUC undefined)."""
    if len(y) == 0 or len(np.unique(y)) < 2:
        return None
    return classification_metrics(y, p)


class MonitoringStore:
    """The monitoring files of one lake."""

    def __init__(self, lake_root: lake.Location):
        self.root = lake.join(lake.root(lake_root), "monitoring")

    def _path(self, *parts: str) -> lake.Location:
        return lake.join(self.root, *parts)

    def _day(self, kind: str, day: date, suffix: str) -> lake.Location:
        return self._path(kind, f"{day.isoformat()}{suffix}")

    def _write_json(self, location: lake.Location, record: dict[str, Any]) -> None:
        lake.write_bytes(location, json.dumps(record, sort_keys=True, indent=1, default=str).encode())

    def _read_json(self, location: lake.Location) -> dict[str, Any] | None:
        data = lake.read_bytes(location)
        return None if data is None else json.loads(data)

    # --- the reference -------------------------------------------------------------------------
    def write_reference(self, reference: Reference, view: DatasetProfileView) -> lake.Location:
        location = profiling.write(view, self._path("reference", f"v{reference.version}.bin"))
        self._write_json(self._path("reference.json"), reference.to_dict())
        return location

    def reference_record(self) -> Reference | None:
        record = self._read_json(self._path("reference.json"))
        return Reference.from_dict(record) if record else None

    def reference(self) -> tuple[Reference, DatasetProfileView] | None:
        reference = self.reference_record()
        if reference is None:
            return None
        return reference, profiling.read(self._path("reference", f"v{reference.version}.bin"))

    # --- one day -------------------------------------------------------------------------------
    def write_profile(self, day: date, view: DatasetProfileView) -> lake.Location:
        return profiling.write(view, self._day("profiles", day, ".bin"))

    def profiles(self, days: list[date]) -> dict[date, DatasetProfileView]:
        """The stored daily profiles of ``days`` (days without one are left out)."""
        found = {day: lake.read_bytes(self._day("profiles", day, ".bin")) for day in days}
        return {day: DatasetProfileView.deserialize(data) for day, data in found.items() if data}

    def write_drift(self, day: date, scores: dict[str, float], rows: int, reference_version: str | None) -> None:
        self._write_json(self._day("drift", day, ".json"),
                         {"day": day, "reference_version": reference_version, "rows": rows, "scores": scores})

    def write_live(self, day: date, version: str, metrics: dict | None, trend: dict | None, rows: int) -> None:
        self._write_json(self._day("live", day, ".json"),
                         {"day": day, "model_version": version, "rows": rows, "metrics": metrics, "trend": trend})

    def write_predictions(self, day: date, scored: pl.DataFrame) -> lake.Location:
        return lake.write_atomic(scored, self._day("predictions", day, ".parquet"))

    def predictions_by_day(self, first: date, last: date) -> dict[date, pl.DataFrame]:
        """The stored predictions of each day in ``first..last`` (days without any are left out)."""
        days = days_between(first, last)
        locations = {day: self._day("predictions", day, ".parquet") for day in days}
        return {day: lake.read(where) for day, where in locations.items() if lake.mtime_ns(where) is not None}

    def predictions(self, first: date, last: date) -> pl.DataFrame | None:
        frames = list(self.predictions_by_day(first, last).values())
        return pl.concat(frames) if frames else None

    def _records(self, kind: str) -> dict[date, dict]:
        records = (self._read_json(location) for location in lake.files(self._path(kind), ".json"))
        return {date.fromisoformat(record["day"]): record for record in records if record}

    def drift(self) -> dict[date, dict]:
        return self._records("drift")

    def live(self) -> dict[date, dict]:
        return self._records("live")

    def signals(self, after: date | None = None) -> list[Signal]:
        """Per day, the drift scores and the served model's trailing AUC, in day order."""
        drift, live = self.drift(), self.live()
        days = sorted(d for d in drift.keys() | live.keys() if after is None or d > after)
        return [Signal(d, drift.get(d, {}).get("scores", {}), drift.get(d, {}).get("rows"),
                       ((live.get(d) or {}).get("trend") or {}).get("auc")) for d in days]

    def first_day(self) -> date | None:
        days = self.drift().keys() | self.live().keys()
        return min(days) if days else None

    # --- decisions ------------------------------------------------------------------------------
    def record_decisions(self, decisions: list[Decision], **context: Any) -> None:
        for decision in decisions:  # a day is decided once (the sensor's cursor): one file per day
            self._write_json(self._day("decisions", decision.day, ".json"), {**asdict(decision), **context})

    def decisions(self) -> list[dict[str, Any]]:
        return [record for _, record in sorted(self._records("decisions").items())]


def score_labelled(frame: pl.DataFrame, model: LoadedModel) -> pl.DataFrame:
    """The model's predictions for the frame's flights, with the labels they turned out to have."""
    return frame.select("flight_id", "flight_date").with_columns(
        pl.Series(LABEL, labels(frame), dtype=pl.Int8),
        pl.Series(PREDICTION, model.predict_frame(frame), dtype=pl.Float64),
        pl.lit(model.version).alias("model_version"),
    )


def trend(store: MonitoringStore, day: date, days: int = TREND_DAYS) -> dict[str, float] | None:
    """Metrics pooled over the trailing ``days`` of stored predictions (whoever served them)."""
    return _pooled(store.predictions(day - timedelta(days=days - 1), day))


def _pooled(frame: pl.DataFrame | None) -> dict[str, float] | None:
    return None if frame is None else live_metrics(frame.get_column(LABEL).to_numpy(),
                                                   frame.get_column(PREDICTION).to_numpy())


def _by_day(frame: pl.DataFrame) -> list[tuple[date, pl.DataFrame]]:
    return sorted((day, part) for (day,), part in frame.partition_by("flight_date", as_dict=True).items())


def profile_days(store: MonitoringStore, frame: pl.DataFrame, model: LoadedModel | None,
                 columns: list[str]) -> list[dict[str, Any]]:
    """Profile each day of ``frame``; score the trailing week up to it against the champion's reference.

    Returns one record per day: the day, the rows scored (the week's) and the per-feature scores
    (empty without a reference).
    """
    reference = store.reference()
    compared = [*columns, PREDICTION] if model is not None else columns
    profiled, flights = {}, {}
    for day, part in _by_day(profiled_columns(frame, model, columns)):  # one model call for the window
        profiled[day], flights[day] = profiling.profile(part.drop("flight_date")), part.height
        store.write_profile(day, profiled[day])
    if not profiled:
        return []
    first = min(profiled)
    before = store.profiles([first - timedelta(days=n) for n in range(DRIFT_DAYS - 1, 0, -1)])
    weeks = profiling.trailing_merges({**before, **profiled}, sorted(profiled), DRIFT_DAYS)
    records = []
    for day, week in weeks.items():
        rows = week.get_column(columns[0]).get_metric("counts").n.value
        scores = {} if reference is None else {
            name: entry["score"] for name, entry in profiling.drift_scores(week, reference[1], compared).items()}
        store.write_drift(day, scores, rows, reference[0].version if reference else None)
        records.append({"day": day, "rows": rows, "flights": flights[day], "scores": scores})
    return records


def record_live(store: MonitoringStore, frame: pl.DataFrame, model: LoadedModel) -> list[dict[str, Any]]:
    """Score each labelled day with the served model; keep the predictions, the day's metrics and the trend.

    The trend of a day is :func:`trend`'s, from the stored week read once for the run rather than per day.
    """
    days = _by_day(score_labelled(frame, model))  # one model call for the window
    if not days:
        return []
    stored = store.predictions_by_day(days[0][0] - timedelta(days=TREND_DAYS - 1), days[0][0] - timedelta(days=1))
    records = []
    for day, scored in days:
        store.write_predictions(day, scored)
        stored[day] = scored
        metrics = _pooled(scored)
        week = _pooled(pl.concat([kept for d, kept in stored.items() if (day - d).days < TREND_DAYS]))
        store.write_live(day, model.version, metrics, week, scored.height)
        records.append({"day": day, "rows": scored.height, "model_version": model.version,
                        "auc": metrics and metrics["auc"], "logloss": metrics and metrics["logloss"],
                        "ece": metrics and metrics["ece"], "auc_7d": week and week["auc"]})
    return records


def take_reference(store: MonitoringStore, frame: pl.DataFrame, model: LoadedModel, start: date, end: date,
                   holdout_auc: float) -> Reference:
    """Profile the champion's reference days (features and its own predictions) and make them current."""
    view = profile_scored(frame, model, list(model.contract.names))
    reference = Reference(model.version, model.spec, start, end, frame.height, holdout_auc)
    store.write_reference(reference, view)
    return reference
