"""retrain_sensor: drift or a live AUC drop above the thresholds -> retrain, gate, re-profile and redeploy."""

import json

import dagster as dg

from ml_platform import monitoring, retraining
from ml_platform.retraining import Decision, RetrainPolicy
from resources.monitoring import MonitoringResource
from resources.storage import LakeResource
from sensors.jobs import retrain_job

DECISIONS = dg.AssetKey(["monitoring", "retrain_decisions"])

retrain_decisions = dg.AssetSpec(
    DECISIONS, group_name="monitoring", kinds={"dagster"},
    description="Every retrain decision of retrain_sensor (retrain or not, and why), recorded by the sensor.",
)


def retrain_request(decision: Decision, policy: RetrainPolicy, first_day, spec: str) -> dg.RunRequest:
    """Train ``spec`` on the trailing window up to the decision's day; the gate judges it on the newest days;
    the service answers for that day with its point-in-time features."""
    window = policy.retrain_window(decision.day, first_day)
    as_of, train_days = window.train_end.isoformat(), (window.train_end - window.train_start).days + 1
    return dg.RunRequest(
        run_key=f"retrain:{decision.day}:{spec}",
        partition_key=spec,
        run_config={"ops": {
            "models__candidate": {"config": {"as_of": as_of, "train_days": train_days,
                                             "valid_days": policy.valid_days}},
            "models__champion": {"config": {"holdout_start": window.valid_start.isoformat(),
                                            "holdout_end": window.valid_end.isoformat()}},
            "serving__online_features": {"config": {"day": decision.day.isoformat()}},
        }},
        tags={"ml_platform/retrain_day": decision.day.isoformat(), "ml_platform/reason": decision.reason[:250]},
    )


@dg.sensor(job=retrain_job, minimum_interval_seconds=60, default_status=dg.DefaultSensorStatus.RUNNING)
def retrain_sensor(context: dg.SensorEvaluationContext, lake_store: LakeResource,
                   monitor: MonitoringResource) -> dg.SensorResult:
    """Decide on each newly monitored day once; a retrain is requested at most once per cool-down."""
    store = monitoring.MonitoringStore(lake_store.location)
    state = retraining.CursorState.from_dict(json.loads(context.cursor) if context.cursor else None)
    reference, policy, first_day = store.reference_record(), monitor.policy(), store.first_day()
    decisions, state = retraining.evaluate(store.signals(after=state.last_day), policy,
                                           reference.holdout_auc if reference else None, state, first_day,
                                           has_champion=reference is not None)
    if not decisions:
        return dg.SensorResult(skip_reason="no newly monitored day", cursor=json.dumps(state.to_dict()))
    store.record_decisions(decisions, champion=reference.version if reference else None)
    retrains = [d for d in decisions if d.retrain]
    for decision in retrains:
        monitor.alert({"kind": "retrain", "day": decision.day.isoformat(), "summary": decision.reason,
                       "drifted": decision.drifted})
    context.log.info(f"{len(decisions)} days decided, {len(retrains)} retrain(s): "
                     + "; ".join(f"{d.day} {d.reason}" for d in decisions[-3:]))
    summary = dg.AssetMaterialization(DECISIONS, metadata={
        "days": len(decisions),
        "retrains": len(retrains),
        "champion": reference.version if reference else "none",
        "decisions": dg.MetadataValue.md("\n".join(
            ["| day | retrain | reason |", "|---|---|---|"]
            + [f"| {d.day} | {'yes' if d.retrain else 'no'} | {d.reason} |" for d in decisions[-31:]])),
    })
    return dg.SensorResult(
        run_requests=[retrain_request(d, policy, first_day, spec) for d in retrains for spec in monitor.retrain_specs],
        cursor=json.dumps(state.to_dict()),
        asset_events=[summary],
    )
