"""Where the platform keeps its state, and which environment it runs in.

This is the one module that reads ``ML_PLATFORM_ENV`` and ``ML_PLATFORM_HOME``. Everything else asks
:func:`get_settings` so that a laptop run and a cluster run differ in exactly one place.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PROJECT_ROOT = Path(__file__).resolve().parents[1]
DBT_PROJECT_DIR = PROJECT_ROOT / "dbt_project"
ENVIRONMENTS = ("local", "k8s")

MODEL_NAME = "flight_delay"
EXPERIMENT_NAME = "flight_delay"


@dataclass(frozen=True)
class Settings:
    """Resolved locations and switches for one environment."""

    env: str
    home: Path
    mlflow_tracking_uri: str
    alert_webhook: str = ""  # ML_PLATFORM_ALERT_WEBHOOK: where failures and retrain decisions are posted

    @property
    def lake(self) -> Path:
        return self.home / "lake"

    @property
    def landing(self) -> Path:
        """Where the source system drops one file per day per table (and where bad files are quarantined)."""
        return self.home / "landing"

    @property
    def duckdb_path(self) -> Path:
        return self.home / "warehouse.duckdb"

    @property
    def mlflow_artifact_root(self) -> str:
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
    if env == "local":
        tracking_uri = f"sqlite:///{home / 'mlflow' / 'mlflow.db'}"
    else:
        tracking_uri = os.environ.get("MLFLOW_TRACKING_URI", "")
        if not tracking_uri:
            raise ValueError("ML_PLATFORM_ENV=k8s needs MLFLOW_TRACKING_URI (the MLflow server's URL)")
    return Settings(env=env, home=home, mlflow_tracking_uri=tracking_uri,
                    alert_webhook=os.environ.get("ML_PLATFORM_ALERT_WEBHOOK", ""))
