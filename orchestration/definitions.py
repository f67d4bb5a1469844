"""The composition root: the one module that builds Dagster ``Definitions``."""

from __future__ import annotations

import dagster as dg

from assets.dbt import daily_dbt_models, dbt_project, reference_dbt_models
from assets.features import check_no_leakage
from assets.models import candidate, champion
from assets.monitoring import feature_profile, live_performance, reference_profile
from assets.raw import raw_assets
from assets.serving import (
    batch_predictions,
    bento,
    champion_vs_challenger,
    k8s_manifests,
    online_features,
    service,
)
from ml_platform.settings import EXPERIMENT_NAME, MODEL_NAME, PROJECT_ROOT, get_settings
from resources.dbt import DBT_EXECUTABLE, PlatformDbtResource
from resources.k8s import partition_aware_k8s_job_executor
from resources.mlflow import mlflow_tracking_resource
from resources.monitoring import MonitoringResource
from resources.registry import RegistryResource
from resources.serving import BentoResource
from resources.storage import LakeResource, LandingResource, WarehouseResource
from sensors.alerts import failure_alert_sensor
from sensors.jobs import jobs
from sensors.landing import landing_sensor
from sensors.retrain import retrain_decisions, retrain_sensor

settings = get_settings()
settings.export_env()  # dbt, bentoml and mlflow subprocesses find the same state

resources = {
    "lake_store": LakeResource(root=str(settings.lake)),
    "landing_zone": LandingResource(root=str(settings.landing)),
    "warehouse": WarehouseResource(duckdb_path=str(settings.duckdb_path)),
    "dbt": PlatformDbtResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE,
                               target=settings.dbt_target, target_root=str(settings.dbt_target_root)),
    "mlflow": mlflow_tracking_resource.configured(
        {
            "experiment_name": EXPERIMENT_NAME,
            "mlflow_tracking_uri": settings.mlflow_tracking_uri,
            "artifact_location": settings.mlflow_artifact_root,
        }
    ),
    "registry": RegistryResource(model_name=MODEL_NAME, history_path=str(settings.promotion_history)),
    "bentoml": BentoResource(
        project_root=str(PROJECT_ROOT),
        bentoml_home=str(settings.bentoml_home),
        state_dir=str(settings.serving_dir),
        mlflow_tracking_uri=settings.mlflow_tracking_uri,
    ),
    "monitor": MonitoringResource(alert_webhook=settings.alert_webhook),
}

assets = [*raw_assets, reference_dbt_models, daily_dbt_models, candidate, champion, online_features, bento, service,
          k8s_manifests, batch_predictions, champion_vs_challenger, reference_profile, feature_profile, live_performance,
          retrain_decisions]
asset_checks = [check_no_leakage]

defs = dg.Definitions(
    assets=assets,
    resources=resources,
    asset_checks=asset_checks,
    jobs=jobs,
    sensors=[landing_sensor, retrain_sensor, failure_alert_sensor],
    # local: one process, no servers; k8s: a pod per step, sized by its asset and partition
    executor=partition_aware_k8s_job_executor if settings.env == "k8s" else dg.in_process_executor,
)
