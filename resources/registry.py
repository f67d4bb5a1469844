"""The MLflow model registry as the platform uses it: gate, promotion history, rollback."""

from pathlib import Path

import dagster as dg
import polars as pl

from ml_platform import history, promotion


class RegistryResource(dg.ConfigurableResource):
    """One registered model, its aliases, and the log of every registry decision."""

    model_name: str
    history_path: str

    def run_gate(self, specs: list[str], holdout: pl.DataFrame, policy: promotion.GatePolicy):
        return promotion.run_gate(self.model_name, specs, holdout, policy, Path(self.history_path))

    def history(self) -> list[dict]:
        return history.read(Path(self.history_path))
