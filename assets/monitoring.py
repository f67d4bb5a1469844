"""monitoring/*: the champion's reference profile, each day's profile and drift, and live performance."""

from datetime import timedelta

import dagster as dg

from assets.metadata import per_partition, png, records_table
from assets.partitions import daily_partitions, window_days
from assets.keys import CHAMPION, FEATURE_PROFILE, LIVE_PERFORMANCE, REFERENCE
from assets.keys import FEATURES as FEATURE_TABLE
from ml_platform import monitoring, plots
from ml_platform.features import FEATURES
from ml_platform.registry import LoadedModel
from resources.monitoring import MonitoringResource
from resources.registry import RegistryResource
from resources.storage import LakeResource, WarehouseResource

DRIFT_CHECK = "feature_drift"
FEATURE_NAMES = [f.name for f in FEATURES]


def _champion_if_any(registry: RegistryResource) -> LoadedModel | None:
    version = registry.champion_version(required=False)
    return registry.load(version) if version else None


@dg.asset(key=REFERENCE, deps=[CHAMPION], group_name="monitoring", kinds={"whylogs"})
def reference_profile(context: dg.AssetExecutionContext, warehouse: WarehouseResource, lake_store: LakeResource,
                      monitor: MonitoringResource, registry: RegistryResource) -> dg.MaterializeResult:
    """What "no drift" looks like: the newest days the champion was built on (its holdout), and its scores.

    Not the start of its training window: that ends 28 days before promotion, and in spring those weeks
    alone read as temperature drift of 0.9 (measured).
    """
    model = registry.load(registry.champion_version())
    window, metrics = registry.version_run(model.version)
    start = max(window.valid_start, window.valid_end - timedelta(days=monitor.reference_days - 1))
    frame = warehouse.read_features(start, window.valid_end)
    reference = monitoring.take_reference(monitoring.MonitoringStore(lake_store.location), frame, model, start,
                                          window.valid_end, metrics["auc"])
    context.log.info(f"reference for v{model.version}: {reference.rows} flights {start}..{window.valid_end}")
    return dg.MaterializeResult(metadata={"model_version": model.version, "dagster/row_count": reference.rows,
                                          "window": f"{start}..{window.valid_end}",
                                          "holdout_auc": reference.holdout_auc})


@dg.asset(
    key=FEATURE_PROFILE,
    deps=[FEATURE_TABLE, REFERENCE],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="monitoring",
    kinds={"whylogs"},
    check_specs=[dg.AssetCheckSpec(DRIFT_CHECK, asset=FEATURE_PROFILE,
                                   description="Per-feature drift against the champion's reference (warns).")],
)
def feature_profile(context: dg.AssetExecutionContext, warehouse: WarehouseResource, lake_store: LakeResource,
                    monitor: MonitoringResource, registry: RegistryResource):
    """A whylogs profile of each day's features and the champion's predictions, scored for drift."""
    first, last = window_days(context)
    model = _champion_if_any(registry)  # no champion yet: the features are profiled alone
    store = monitoring.MonitoringStore(lake_store.location)
    days = monitoring.profile_days(store, warehouse.read_features(first, last), model, FEATURE_NAMES)
    policy = monitor.policy()
    peak = {name: max(d["scores"].get(name, 0.0) for d in days) for name in days[-1]["scores"]} if days else {}
    drifted = {str(d["day"]): policy.drifted(d["scores"], d["rows"]) for d in days}
    drifted = {day: features for day, features in drifted.items() if features}
    context.log.info(f"profiled {len(days)} days; drift above thresholds on {len(drifted)}")
    per_partition(context, {d["day"]: {
        "dagster/row_count": d["flights"],
        "max_drift": max(d["scores"].values(), default=0.0),
        "drifted": ", ".join(sorted(drifted.get(str(d["day"]), {}))) or "none",
    } for d in days})
    yield dg.MaterializeResult(metadata={"model_version": model.version if model else "none"})
    if not peak:
        yield dg.AssetCheckResult(check_name=DRIFT_CHECK, passed=True,
                                  description="no reference profile yet (no champion): nothing to compare")
        return
    thresholds = {name: policy.threshold(name) for name in policy.monitored}
    yield dg.AssetCheckResult(
        check_name=DRIFT_CHECK,
        passed=not drifted,
        severity=dg.AssetCheckSeverity.WARN,
        description=(f"drift above thresholds on {len(drifted)} of {len(days)} days: "
                     + ", ".join(sorted({f for fs in drifted.values() for f in fs}))) if drifted
        else f"no monitored feature above its threshold on {len(days)} days",
        metadata={
            "max_drift": max(peak.values()),
            "drifted_days": records_table([{"day": day, "features": ", ".join(f"{k} {v:.2f}" for k, v in fs.items())}
                                           for day, fs in sorted(drifted.items())[-20:]]),
            "scores": png(plots.drift_bars(peak, thresholds, f"peak drift {first}..{last}")),
        },
    )


@dg.asset(
    key=LIVE_PERFORMANCE,
    deps=[FEATURE_TABLE],
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    group_name="monitoring",
    kinds={"lightgbm", "polars"},
)
def live_performance(context: dg.AssetExecutionContext, warehouse: WarehouseResource, lake_store: LakeResource,
                     registry: RegistryResource) -> dg.MaterializeResult:
    """The served champion's AUC, log-loss and calibration on each day once its labels land, and the trend."""
    model = _champion_if_any(registry)
    if model is None:
        context.log.info("no champion yet: nothing served, nothing to score")
        return dg.MaterializeResult(metadata={"model_version": "none"})
    first, last = window_days(context)
    store = monitoring.MonitoringStore(lake_store.location)
    days = monitoring.record_live(store, warehouse.read_features(first, last), model)
    per_partition(context, {d["day"]: {"dagster/row_count": d["rows"], **{
        k: d[k] for k in ("auc", "auc_7d", "logloss", "ece") if d[k] is not None}} for d in days})
    if len(days) > 1:  # the window's table and trend once, on its newest day
        per_partition(context, {days[-1]["day"]: {
            "daily": records_table([{k: d[k] for k in ("day", "rows", "auc", "auc_7d", "logloss", "ece")}
                                    for d in days[-31:]]),
            "trend": png(plots.timeline([d["day"] for d in days], {
                "daily AUC": [d["auc"] for d in days], "trailing 7-day AUC": [d["auc_7d"] for d in days]},
                [], "AUC", f"v{model.version} on {first}..{last}"))}})
    return dg.MaterializeResult(metadata={"model_version": model.version})
