"""Where the platform keeps its state, and which environment it runs in.

This is the one module that reads ``ML_PLATFORM_ENV`` and ``ML_PLATFORM_HOME``. Everything else asks
:func:`get_settings` so that a laptop run and a cluster run differ in exactly one place.

``local`` (default): everything under ``ML_PLATFORM_HOME``, no servers. ``k8s``: the lake on an object
store (``ML_PLATFORM_LAKE_URL``, e.g. ``s3://ml-platform/lake``; ``AWS_ENDPOINT_URL`` for MinIO), an MLflow
tracking server (``MLFLOW_TRACKING_URI``) that stores artifacts itself, and dbt's ``k8s`` target
(DuckDB on the run pod's volume reading the lake over S3); the executor is chosen from ``env`` in
``definitions.py``.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from ml_platform.lake import Location, root as lake_root

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
ENVIRONMENTS = ("local", "k8s")

K8S_REQUIRED = ("MLFLOW_TRACKING_URI", "ML_PLATFORM_LAKE_URL")  # the MLflow server, the object-store lake

MODEL_NAME = "flight_delay"
EXPERIMENT_NAME = "flight_delay"


@dataclass(frozen=True)
class Settings:
    """Resolved locations and switches for one environment."""

    env: str
    home: Path
    mlflow_tracking_uri: str
    lake_url: str = ""  # an object-store URL; empty: the local folder under home
    alert_webhook: str = ""  # ML_PLATFORM_ALERT_WEBHOOK: where failures and retrain decisions are posted

    @property
    def lake(self) -> Location:
        return lake_root(self.lake_url) if self.lake_url else self.home / "lake"

    @property
    def dbt_target(self) -> str:
        """The output in dbt_project/profiles.yml: a target per environment."""
        return self.env

    @property
    def dbt_target_root(self) -> Path:
        """dbt's artifacts and partial-parse state, one folder per dbt asset."""
        return self.home / "dbt"

    @property
    def landing(self) -> Path:
        """Where the source system drops one file per day per table (and where bad files are quarantined)."""
        return self.home / "landing"

    @property
    def duckdb_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def mlflow_artifact_root(self) -> str:
        """Local: a folder. k8s: the tracking server's proxied artifact store (``--artifacts-destination``)."""
        if self.env == "k8s":
            return f"mlflow-artifacts:/{EXPERIMENT_NAME}"
        return (self.home / "mlflow" / "artifacts").as_uri()

    @property
    def promotion_history(self) -> Path:
        return self.home / "registry" / "promotions.jsonl"

    @property
    def bentoml_home(self) -> Path:
        return self.home / "bentoml"

    @property
    def serving_dir(self) -> Path:
        return self.home / "serving"

    @property
    def dagster_home(self) -> Path:
        return self.home / "dagster"

    @property
    def reports(self) -> Path:
        return self.home / "reports"

    def subprocess_env(self) -> dict[str, str]:
        """Variables every child process (dbt, bentoml, mlflow ui) needs to find the same state."""
        return {
            "ML_PLATFORM_ENV": self.env,
            "ML_PLATFORM_HOME": str(self.home),
            "ML_PLATFORM_LAKE": str(self.lake),
            "ML_PLATFORM_DUCKDB": str(self.duckdb_path),
            "ML_PLATFORM_DBT_TARGET": self.dbt_target,
            "MLFLOW_TRACKING_URI": self.mlflow_tracking_uri,
            "MLFLOW_DISABLE_TELEMETRY": "true",
            "BENTOML_HOME": str(self.bentoml_home),
            "BENTOML_DO_NOT_TRACK": "true",
            "DO_NOT_TRACK": "true",
        }

    def export_env(self) -> None:
        """Publish the locations to this process's environment, so libraries and children agree."""
        os.environ.update(self.subprocess_env())


@cache
def get_settings() -> Settings:
    env = os.environ.get("ML_PLATFORM_ENV", "local")
    if env not in ENVIRONMENTS:
        raise ValueError(f"ML_PLATFORM_ENV={env!r} is not one of {ENVIRONMENTS}")
    home = Path(os.environ.get("ML_PLATFORM_HOME") or PROJECT_ROOT / ".ml_platform").resolve()
    lake_url = os.environ.get("ML_PLATFORM_LAKE_URL", "")
    alert_webhook = os.environ.get("ML_PLATFORM_ALERT_WEBHOOK", "")
    if env == "local":
        return Settings(env=env, home=home, mlflow_tracking_uri=f"sqlite:///{home / 'mlflow' / 'mlflow.db'}",
                        lake_url=lake_url, alert_webhook=alert_webhook)
    missing = [name for name in K8S_REQUIRED if not os.environ.get(name)]
    if missing:
        raise ValueError(f"ML_PLATFORM_ENV=k8s needs {', '.join(missing)} (the ConfigMap in deploy/k8s/platform.yaml)")
    return Settings(env=env, home=home, mlflow_tracking_uri=os.environ["MLFLOW_TRACKING_URI"], lake_url=lake_url,
                    alert_webhook=alert_webhook)
