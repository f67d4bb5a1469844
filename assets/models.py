"""models/*: the LightGBM candidate in MLflow, and the champion alias behind a blocking gate."""

from datetime import date
from typing import Any

import dagster as dg

from assets.metadata import metrics_table
from ml_platform import candidates, registry
from ml_platform.settings import MODEL_NAME
from ml_platform.training import TrainWindow
from resources.storage import WarehouseResource

FEATURES = dg.AssetKey(["features", "flight_features"])
CANDIDATE = dg.AssetKey(["models", "candidate"])
FLOOR_CHECK = "holdout_auc_above_floor"


class CandidateConfig(dg.Config):
    """Time-ordered training and validation windows, and the absolute quality floor."""

    train_start: str = "2013-01-01"
    train_end: str = "2013-09-30"
    valid_start: str = "2013-10-01"
    valid_end: str = "2013-12-31"
    auc_floor: float = 0.60

    def window(self) -> TrainWindow:
        return TrainWindow(*(date.fromisoformat(d) for d in (self.train_start, self.train_end,
                                                               self.valid_start, self.valid_end)))


@dg.asset(
    key=CANDIDATE,
    deps=[FEATURES],
    group_name="models",
    kinds={"lightgbm", "mlflow"},
    check_specs=[dg.AssetCheckSpec(FLOOR_CHECK, asset=CANDIDATE, blocking=True,
                                   description="Holdout AUC must reach the absolute floor before promotion.")],
)
def candidate(
    context: dg.AssetExecutionContext,
    config: CandidateConfig,
    warehouse: WarehouseResource,
    mlflow: dg.ResourceParam[Any],
):
    """A LightGBM model trained on the training window, evaluated on the days after, registered as challenger."""
    window = config.window()
    frame = warehouse.read_features(window.train_start, window.valid_end)
    built = candidates.build_candidate(frame, window, MODEL_NAME)
    mlflow.end_run()
    metrics = built.model.metrics
    context.log.info(f"candidate v{built.record.version}: holdout AUC {metrics['auc']:.4f}")
    top = dict(list(built.model.feature_importance.items())[:10])
    yield dg.MaterializeResult(
        metadata={
            "model_version": built.record.version,
            "model_uri": built.record.model_uri,
            "mlflow_run_id": built.record.run_id,
            "holdout_auc": metrics["auc"],
            "holdout_logloss": metrics["logloss"],
            "metrics": metrics_table(metrics),
            "feature_importance_gain": metrics_table(top),
            "train_rows": built.model.train_rows,
            "valid_rows": built.model.valid_rows,
            "window": f"train {window.train_start}..{window.train_end}, valid {window.valid_start}..{window.valid_end}",
            "feature_hash": built.data_hash,
        }
    )
    yield dg.AssetCheckResult(
        check_name=FLOOR_CHECK,
        passed=metrics["auc"] >= config.auc_floor,
        metadata={"holdout_auc": metrics["auc"], "floor": config.auc_floor},
        description=f"holdout AUC {metrics['auc']:.4f} vs floor {config.auc_floor}",
    )


@dg.asset(key=["models", "champion"], deps=[CANDIDATE], group_name="models", kinds={"mlflow"})
def champion(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    """The MLflow `champion` alias, moved to the challenger once the candidate's gate passed."""
    promotion = registry.promote_challenger(MODEL_NAME)
    context.log.info(f"champion is now v{promotion.version} (was {promotion.previous})")
    return dg.MaterializeResult(
        metadata={
            "model_version": promotion.version,
            "previous_champion": promotion.previous or "none",
            "model_uri": f"models:/{MODEL_NAME}@{registry.CHAMPION}",
            "metrics": metrics_table(promotion.metrics),
        }
    )
