"""BentoML build and local deployment, configured from the platform settings."""

from pathlib import Path
import dagster as dg

from ml_platform.serving import deploy


class BentoResource(dg.ConfigurableResource):
    """Builds bentos into ``bentoml_home`` and runs them with ``bentoml serve`` on 127.0.0.1."""

    project_root: str
    bentoml_home: str
    state_dir: str
    mlflow_tracking_uri: str

    @property
    def env(self) -> dict[str, str]:
        return {
            "BENTOML_HOME": self.bentoml_home,
            "BENTOML_DO_NOT_TRACK": "true",
            "MLFLOW_TRACKING_URI": self.mlflow_tracking_uri,
            "MLFLOW_DISABLE_TELEMETRY": "true",
        }

    def build(self) -> str:
        return deploy.build_bento(Path(self.project_root), self.env)

    def deploy(self, bento_tag: str, model_version: str, shadow_version: str = ""):
        """Serve ``model_version`` (smoke-tested on the online snapshot's example flight), shadowed by another."""
        return deploy.deploy(bento_tag, model_version, Path(self.state_dir), self.env, shadow_version=shadow_version)
