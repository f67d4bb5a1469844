"""When to retrain: drift and live performance against thresholds, with a cursor and a cool-down.

Time here is the data's time (the day a signal is about), not the wall clock: a year replayed in
minutes must cool down the same way as a year lived through.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any


@dataclass(frozen=True)
class RetrainPolicy:
    drift_threshold: float = 0.25  # a feature's drift score (KS D / total variation) above this counts
    feature_thresholds: dict[str, float] = field(default_factory=dict)  # per-feature overrides
    min_drifted_features: int = 1
    max_auc_drop: float = 0.05  # live AUC this far under the champion's holdout AUC counts
    cooldown_days: int = 14  # no second retrain within this many data days of the last one

    def threshold(self, feature: str) -> float:
        return self.feature_thresholds.get(feature, self.drift_threshold)


@dataclass(frozen=True)
class Signal:
    day: date
    drift: dict[str, float]  # feature -> score
    live_auc: float | None = None  # None until the day's labels land


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


def decide(signal: Signal, policy: RetrainPolicy, reference_auc: float | None, state: CursorState) -> Decision:
    """One day's decision, with the reason a person reads in the UI."""
    drifted = {f: s for f, s in signal.drift.items() if s > policy.threshold(f)}
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


def evaluate(signals: list[Signal], policy: RetrainPolicy, reference_auc: float | None,
             state: CursorState) -> tuple[list[Decision], CursorState]:
    """Decide on every signal newer than the cursor, in day order; each day is decided once."""
    decisions = []
    state = CursorState(state.last_day, state.last_retrain_day)
    for signal in sorted(signals, key=lambda s: s.day):
        if state.last_day is not None and signal.day <= state.last_day:
            continue
        decision = decide(signal, policy, reference_auc, state)
        decisions.append(decision)
        state.last_day = signal.day
        if decision.retrain:
            state.last_retrain_day = signal.day
    return decisions, state
