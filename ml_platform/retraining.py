"""When to retrain: drift and live performance against thresholds, with a cursor and a cool-down.

Time here is the data's time (the day a signal is about), not the wall clock: a year replayed in
minutes must cool down the same way as a year lived through.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, field
from datetime import date, timedelta
from typing import Any

from ml_platform.training import TrainWindow

# What a retrain reacts to. Measured on 2013 (weekly windows against a 28-day reference): the schedule
# and fleet mix barely move (< 0.15), weather drifts with the season (up to ~0.45 within a month), and
# the delay-history aggregates move 0.3-0.7 as the delay regime changes, which is exactly what they are
# for: those are reported, not acted on (the live AUC watches their effect). Calendar features have one
# value a day, so they always "drift" from a month-long reference.
SCHEDULE_FEATURES = ("carrier", "origin", "dest", "sched_dep_hour", "sched_arr_hour", "distance", "plane_age",
                     "seats")
WEATHER_FEATURES = ("temp", "humid", "wind_speed", "precip", "visib")
MONITORED_FEATURES = SCHEDULE_FEATURES + WEATHER_FEATURES
WEATHER_THRESHOLD = 0.6  # beyond what a season does in a month


@dataclass(frozen=True)
class RetrainPolicy:
    drift_threshold: float = 0.3  # a feature's drift score (KS D / total variation) above this counts
    feature_thresholds: dict[str, float] = field(  # per-feature overrides
        default_factory=lambda: dict.fromkeys(WEATHER_FEATURES, WEATHER_THRESHOLD))
    min_drifted_features: int = 1
    max_auc_drop: float = 0.05  # live AUC this far under the champion's holdout AUC counts
    cooldown_days: int = 14  # no second retrain within this many data days of the last one
    monitored: tuple[str, ...] = MONITORED_FEATURES
    warmup_days: int = 56  # the first model waits for this many days of data
    train_days: int = 273  # a retrain trains on up to this many days ...
    valid_days: int = 28  # ... before the most recent ones, which are its (and the gate's) holdout

    def threshold(self, feature: str) -> float:
        return self.feature_thresholds.get(feature, self.drift_threshold)

    def drifted(self, scores: dict[str, float], rows: int | None = None) -> dict[str, float]:
        """The monitored features whose score is above their threshold and above sampling noise.

        A day of ``rows`` flights differs from its reference by chance alone: the KS critical value at
        alpha = 0.001 against a large reference, 1.95 / sqrt(rows), is the floor (0.07 for a full
        day of ~900 flights, 0.28 for 50).
        """
        floor = 1.95 / math.sqrt(rows) if rows else 0.0
        return {f: s for f, s in scores.items() if f in self.monitored and s > max(self.threshold(f), floor)}

    def retrain_window(self, day: date, first_day: date) -> TrainWindow:
        """Train on the trailing days before the last ``valid_days`` up to ``day``; those are the holdout.

        The window starts no earlier than ``first_day`` (the first monitored day), so it says what it covers.
        """
        as_of = day - timedelta(days=self.valid_days)
        available = max((as_of - first_day).days + 1, 1)
        return TrainWindow.trailing(as_of, min(self.train_days, available), self.valid_days)


@dataclass(frozen=True)
class Signal:
    day: date
    drift: dict[str, float]  # feature -> score (empty while there is no reference)
    rows: int | None = None  # flights the scores were computed on
    live_auc: float | None = None  # the served model's trailing AUC; None until labels land


@dataclass(frozen=True)
class Decision:
    day: date
    retrain: bool
    reason: str
    drifted: dict[str, float]


@dataclass
class CursorState:
    """What the sensor remembers between ticks (serialized as its cursor)."""

    last_day: date | None = None
    last_retrain_day: date | None = None

    def to_dict(self) -> dict[str, Any]:
        return {k: v.isoformat() if v else None for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, data: dict[str, Any] | None) -> CursorState:
        data = data or {}
        return cls(*(date.fromisoformat(data[k]) if data.get(k) else None for k in ("last_day", "last_retrain_day")))


def decide(signal: Signal, policy: RetrainPolicy, reference_auc: float | None, state: CursorState,
           first_day: date | None = None, has_champion: bool = True) -> Decision:
    """One day's decision, with the reason a person reads in the UI.

    Without a champion the only question is whether enough days have landed to train the first one.
    """
    if not has_champion:
        return _bootstrap(signal, policy, state, first_day or signal.day)
    drifted = policy.drifted(signal.drift, signal.rows)
    reasons = []
    if len(drifted) >= policy.min_drifted_features:
        top = ", ".join(f"{f} {s:.2f}" for f, s in sorted(drifted.items(), key=lambda kv: -kv[1])[:3])
        reasons.append(f"{len(drifted)} feature(s) drifted ({top})")
    if signal.live_auc is not None and reference_auc is not None and \
            signal.live_auc < reference_auc - policy.max_auc_drop:
        reasons.append(f"live AUC {signal.live_auc:.3f} < champion {reference_auc:.3f} - {policy.max_auc_drop}")
    if not reasons:
        return Decision(signal.day, False, "no signal above thresholds", drifted)
    if state.last_retrain_day is not None and (signal.day - state.last_retrain_day).days < policy.cooldown_days:
        return Decision(signal.day, False, f"cool-down: retrained on {state.last_retrain_day}; "
                        f"signal was: {'; '.join(reasons)}", drifted)
    return Decision(signal.day, True, "; ".join(reasons), drifted)


def _bootstrap(signal: Signal, policy: RetrainPolicy, state: CursorState, first_day: date) -> Decision:
    days = (signal.day - first_day).days + 1
    if days < policy.warmup_days:
        return Decision(signal.day, False, f"no champion yet: {days} of {policy.warmup_days} warm-up days", {})
    if state.last_retrain_day is not None and (signal.day - state.last_retrain_day).days < policy.cooldown_days:
        return Decision(signal.day, False, f"no champion yet: first model requested on {state.last_retrain_day}", {})
    return Decision(signal.day, True, f"no champion yet: {days} days of data, train the first model", {})


def evaluate(signals: list[Signal], policy: RetrainPolicy, reference_auc: float | None, state: CursorState,
             first_day: date | None = None, has_champion: bool = True) -> tuple[list[Decision], CursorState]:
    """Decide on every signal newer than the cursor, in day order; each day is decided once."""
    decisions = []
    state = CursorState(state.last_day, state.last_retrain_day)
    for signal in sorted(signals, key=lambda s: s.day):
        if state.last_day is not None and signal.day <= state.last_day:
            continue
        decision = decide(signal, policy, reference_auc, state, first_day, has_champion)
        decisions.append(decision)
        state.last_day = signal.day
        if decision.retrain:
            state.last_retrain_day = signal.day
    return decisions, state
