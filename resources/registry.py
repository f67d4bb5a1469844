"""The MLflow model registry as the platform uses it: aliases, gate, promotion history, rollback."""

from pathlib import Path

import dagster as dg
import polars as pl

from ml_platform import history, promotion, registry


class RegistryResource(dg.ConfigurableResource):
    """One registered model, its aliases, and the log of every registry decision.

    Every asset that asks which version is champion asks :meth:`champion_version`.
    """

    model_name: str
    history_path: str

    def champion_version(self, *, required: bool = True) -> str | None:
        """The version the ``champion`` alias points at; ``dg.Failure`` if there is none, unless not ``required``."""
        version = registry.alias_version(self.model_name, registry.CHAMPION)
        if version is None and required:
            raise dg.Failure(f"registered model {self.model_name!r} has no {registry.CHAMPION!r} alias: "
                             "materialize models/candidate, then models/champion (the gate) first")
        return version

    def challenger_version(self) -> str | None:
        """The version the gate last compared with the champion (``challenger`` alias), if any."""
        return registry.alias_version(self.model_name, registry.CHALLENGER)

    def load(self, version: str) -> registry.LoadedModel:
        return registry.load_model(self.model_name, version=version)

    def version_run(self, version: str):
        """The window a version was trained on and the metrics it logged on its holdout."""
        return registry.version_run(self.model_name, version)

    def export(self, version: str, dest: Path) -> Path:
        """One version's model directory under ``dest``, loadable without MLflow (the serving workers')."""
        return registry.export_model(self.model_name, version, dest)

    def run_gate(self, specs: list[str], holdout: pl.DataFrame, policy: promotion.GatePolicy):
        return promotion.run_gate(self.model_name, specs, holdout, policy, Path(self.history_path))

    def history(self) -> list[dict]:
        return history.read(Path(self.history_path))
