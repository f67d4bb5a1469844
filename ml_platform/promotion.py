"""The promotion gate and rollback: who is champion, and why.

The gate scores every spec's newest candidate and the current champion on the same, most recent
holdout. The best candidate becomes the ``challenger``; it replaces the champion only if it beats it
by a margin and stays calibrated. The very first model passes on an absolute floor instead.
"""

from __future__ import annotations

import getpass
import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import polars as pl

from ml_platform import history, registry
from ml_platform.evaluation import classification_metrics
from ml_platform.features import labels

log = logging.getLogger(__name__)

PROMOTED, REJECTED, UNCHANGED = "promoted", "rejected", "unchanged"


@dataclass(frozen=True)
class GatePolicy:
    min_auc_gain: float = 0.002  # challenger AUC must exceed the champion's by this much
    max_ece: float = 0.06  # and its expected calibration error must stay under this bound
    auc_floor: float = 0.65  # the first model needs at least this AUC


@dataclass(frozen=True)
class Scored:
    version: str
    spec: str
    metrics: dict[str, float]


@dataclass(frozen=True)
class GateDecision:
    status: str
    reason: str
    challenger: Scored
    champion: Scored | None

    @property
    def passed(self) -> bool:
        """The check passes unless a new challenger was rejected."""
        return self.status != REJECTED


def decide(challenger: Scored, champion: Scored | None, policy: GatePolicy) -> GateDecision:
    """Pure decision from metrics on one shared holdout."""
    auc, ece = challenger.metrics["auc"], challenger.metrics["ece"]
    if champion is not None and champion.version == challenger.version:
        return GateDecision(UNCHANGED, f"v{challenger.version} is already champion", challenger, champion)
    if ece > policy.max_ece:
        return GateDecision(REJECTED, f"v{challenger.version} ({challenger.spec}) calibration error "
                            f"{ece:.4f} > bound {policy.max_ece}", challenger, champion)
    if champion is None:
        if auc < policy.auc_floor:
            return GateDecision(REJECTED, f"first model v{challenger.version} AUC {auc:.4f} "
                                f"< floor {policy.auc_floor}", challenger, None)
        return GateDecision(PROMOTED, f"first model v{challenger.version} AUC {auc:.4f} "
                            f">= floor {policy.auc_floor}", challenger, None)
    needed = champion.metrics["auc"] + policy.min_auc_gain
    if auc < needed:
        return GateDecision(REJECTED, f"v{challenger.version} ({challenger.spec}) AUC {auc:.4f} does not beat "
                            f"champion v{champion.version} {champion.metrics['auc']:.4f} "
                            f"+ margin {policy.min_auc_gain}", challenger, champion)
    return GateDecision(PROMOTED, f"v{challenger.version} ({challenger.spec}) AUC {auc:.4f} beats champion "
                        f"v{champion.version} {champion.metrics['auc']:.4f} + margin {policy.min_auc_gain}",
                        challenger, champion)


def score(model_name: str, version: str, holdout: pl.DataFrame) -> Scored:
    model = registry.load_model(model_name, version=version)
    metrics = classification_metrics(labels(holdout), model.predict_frame(holdout))
    return Scored(version=version, spec=model.spec, metrics=metrics)


def _event(action: str, version: str, previous: str | None, reason: str, **extra: Any) -> dict[str, Any]:
    return {"action": action, "version": version, "previous": previous, "reason": reason,
            "at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "by": getpass.getuser(), **extra}


def run_gate(model_name: str, specs: list[str], holdout: pl.DataFrame, policy: GatePolicy,
             history_path: Path) -> GateDecision:
    """Pick the best candidate as challenger, compare it with the champion, promote if it passes."""
    versions = {registry.alias_version(model_name, registry.candidate_alias(s)) for s in specs} - {None}
    if not versions:
        raise LookupError(f"{model_name} has no registered candidate of specs {specs}: train one first")
    scored = [score(model_name, v, holdout) for v in sorted(versions, key=int)]
    challenger = max(scored, key=lambda s: s.metrics["auc"])
    registry.set_alias(model_name, registry.CHALLENGER, challenger.version)
    current = registry.alias_version(model_name, registry.CHAMPION)
    champion = None
    if current is not None:
        champion = next((s for s in scored if s.version == current), None) or score(model_name, current, holdout)
    decision = decide(challenger, champion, policy)
    log.info("gate: %s (%s)", decision.status, decision.reason)
    if decision.status == UNCHANGED:
        return decision
    if decision.status == PROMOTED:
        registry.set_alias(model_name, registry.CHAMPION, challenger.version)
    history.append(history_path, _event(
        "promote" if decision.status == PROMOTED else "reject", challenger.version, current, decision.reason,
        challenger=asdict(challenger), champion=asdict(champion) if champion else None,
        holdout_rows=holdout.height, policy=asdict(policy),
    ))
    return decision


def rollback(model_name: str, history_path: Path) -> dict[str, Any]:
    """Point ``champion`` back at the last promoted version before the current one.

    Versions that were themselves rolled back are skipped, so repeated rollbacks walk further back.
    """
    current = registry.alias_version(model_name, registry.CHAMPION)
    if current is None:
        raise LookupError(f"{model_name} has no champion to roll back")
    events = history.read(history_path)
    promoted = [e["version"] for e in events if e["action"] == "promote"]
    rolled_back = {e["previous"] for e in events if e["action"] == "rollback"} | {current}
    if current not in promoted:
        raise LookupError(f"champion v{current} was not promoted by the gate; no history to roll back along")
    position = len(promoted) - 1 - promoted[::-1].index(current)
    earlier = [v for v in promoted[:position] if v not in rolled_back]
    if not earlier:
        raise LookupError(f"no earlier champion than v{current} to roll back to")
    target = earlier[-1]
    registry.set_alias(model_name, registry.CHAMPION, target)
    event = _event("rollback", target, current, f"rollback from v{current} to v{target}")
    history.append(history_path, event)
    log.info("rolled %s back to v%s", model_name, target)
    return event
