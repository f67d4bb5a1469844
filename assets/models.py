"""models/*: one candidate per model spec (partitions) in MLflow, and the gated champion alias."""

from dataclasses import asdict
from datetime import date
from typing import Any

import dagster as dg

from assets.keys import CANDIDATE, CHAMPION, FEATURES
from assets.metadata import metrics_table, records_table
from ml_platform import candidates, promotion
from ml_platform.specs import SPECS
from ml_platform.training import TrainWindow
from resources.k8s import partition_k8s_config_tags
from resources.registry import RegistryResource
from resources.storage import WarehouseResource

GATE_CHECK = "promotion_gate"

spec_partitions = dg.StaticPartitionsDefinition(sorted(SPECS))


class CandidateConfig(dg.Config):
    """A trailing training window ending at `as_of`, validated on the days right after it."""

    as_of: str = "2013-09-30"
    train_days: int = 273
    valid_days: int = 92

    def window(self) -> TrainWindow:
        return TrainWindow.trailing(date.fromisoformat(self.as_of), self.train_days, self.valid_days)


@dg.asset(
    key=CANDIDATE,
    deps=[dg.AssetDep(FEATURES, partition_mapping=dg.AllPartitionMapping())],  # a trailing window of days
    partitions_def=spec_partitions,
    group_name="models",
    kinds={"mlflow", *{kind for spec in SPECS.values() for kind in spec.kinds}},
    op_tags=partition_k8s_config_tags({name: spec.k8s_config for name, spec in SPECS.items()}),
)
def candidate(
    context: dg.AssetExecutionContext,
    config: CandidateConfig,
    warehouse: WarehouseResource,
    registry: RegistryResource,
    mlflow: dg.ResourceParam[Any],
) -> dg.MaterializeResult:
    """A model of one spec trained on a trailing window and registered in MLflow (alias candidate_<spec>)."""
    window = config.window()
    frame = warehouse.read_features(window.train_start, window.valid_end)
    built = candidates.build_candidate(frame, window, context.partition_key, registry.model_name)
    mlflow.end_run()
    metrics = built.model.metrics
    context.log.info(f"{context.partition_key} v{built.record.version}: holdout AUC {metrics['auc']:.4f}")
    metadata: dict[str, Any] = {
        "model_version": built.record.version,
        "model_uri": built.record.model_uri,
        "mlflow_run_id": built.record.run_id,
        "holdout_auc": metrics["auc"],
        "holdout_logloss": metrics["logloss"],
        "holdout_ece": metrics["ece"],
        "metrics": metrics_table(metrics),
        "train_rows": built.model.train_rows,
        "valid_rows": built.model.valid_rows,
        "window": f"train {window.train_start}..{window.train_end}, valid {window.valid_start}..{window.valid_end}",
        "feature_hash": built.data_hash,
    }
    if built.model.feature_importance:
        metadata["feature_importance_gain"] = metrics_table(dict(list(built.model.feature_importance.items())[:10]))
    return dg.MaterializeResult(metadata=metadata)


class GateConfig(dg.Config):
    """The shared, most recent holdout and the promotion policy."""

    holdout_start: str = "2013-10-01"
    holdout_end: str = "2013-12-31"
    min_auc_gain: float = promotion.GatePolicy.min_auc_gain
    max_ece: float = promotion.GatePolicy.max_ece
    auc_floor: float = promotion.GatePolicy.auc_floor


@dg.asset(
    key=CHAMPION,
    deps=[CANDIDATE],
    group_name="models",
    kinds={"mlflow"},
    check_specs=[dg.AssetCheckSpec(GATE_CHECK, asset=CHAMPION, blocking=True,
                                   description="A new challenger must beat the champion on the same holdout.")],
)
def champion(context: dg.AssetExecutionContext, config: GateConfig, warehouse: WarehouseResource,
             registry: RegistryResource):
    """The MLflow `champion` alias: moved to the best candidate only when it passes the gate."""
    holdout = warehouse.read_features(date.fromisoformat(config.holdout_start), date.fromisoformat(config.holdout_end))
    policy = promotion.GatePolicy(config.min_auc_gain, config.max_ece, config.auc_floor)
    decision = registry.run_gate(sorted(SPECS), holdout, policy)
    context.log.info(f"gate {decision.status}: {decision.reason}")
    champion_now = decision.challenger if decision.status == promotion.PROMOTED else decision.champion
    compared = [{"role": role, "version": s.version, "spec": s.spec, **s.metrics}
                for role, s in (("challenger", decision.challenger), ("champion", decision.champion)) if s]
    yield dg.MaterializeResult(
        metadata={
            "decision": decision.status,
            "reason": decision.reason,
            "champion_version": champion_now.version if champion_now else "none",
            "holdout": f"{config.holdout_start}..{config.holdout_end} ({holdout.height} flights)",
            "compared_on_holdout": records_table(compared),
            "history": records_table(registry.history()[-10:][::-1],
                                     columns=["at", "action", "version", "previous", "by", "reason"]),
        }
    )
    yield dg.AssetCheckResult(
        check_name=GATE_CHECK,
        passed=decision.passed,
        description=decision.reason,
        metadata={"status": decision.status, "policy": dg.MetadataValue.json(asdict(policy))},
    )
