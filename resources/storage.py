"""Where assets read and write: the Parquet lake and the DuckDB warehouse."""

import json
from datetime import date
from pathlib import Path

import dagster as dg
import polars as pl

from ml_platform import lake, leakage, online_snapshot, warehouse
from ml_platform.serving.online import OnlineFeatures


class LakeResource(dg.ConfigurableResource):
    """Root of the Parquet lake (a local folder; an object-store URL on a cluster)."""

    root: str

    @property
    def location(self) -> lake.Location:
        return lake.root(self.root)


class LandingResource(dg.ConfigurableResource):
    """The landing zone where the source drops one file per day per table."""

    root: str

    @property
    def path(self) -> Path:
        return Path(self.root)


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB file dbt builds; Python assets only read it."""

    duckdb_path: str

    def read_features(self, start: date | None = None, end: date | None = None) -> pl.DataFrame:
        return warehouse.read_features(Path(self.duckdb_path), start, end)

    def online_snapshot(self, day: date) -> OnlineFeatures:
        return online_snapshot.build(Path(self.duckdb_path), day)

    def check_leakage(self, first: date, last: date) -> leakage.LeakageReport:
        return leakage.check(Path(self.duckdb_path), first, last)

    def with_row_counts(self, events: list, manifest_path: Path) -> list:
        """Add each model's ``dagster/row_count`` to its dbt output, read once dbt has released the file."""
        relations = {name: node["relation_name"] for name, node in _models(events, manifest_path).items()}
        counts = warehouse.row_counts(Path(self.duckdb_path), set(relations.values()))
        return [e.with_metadata({**e.metadata, "dagster/row_count": counts[relations[e.output_name]]})
                if isinstance(e, dg.Output) else e for e in events]

    def daily_row_counts(self, events: list, manifest_path: Path, window: tuple[date, date]
                         ) -> dict[str, dict[date, int]]:
        """Rows per day of the window in each daily model dbt built (output name -> day -> rows).

        A daily model's ``unique_key`` is its date column: dbt replaces the window's days by it.
        """
        relations = {name: warehouse.DailyRelation(node["relation_name"], node["config"]["unique_key"])
                     for name, node in _models(events, manifest_path).items()}
        counts = warehouse.daily_row_counts(Path(self.duckdb_path), set(relations.values()), *window)
        return {name: counts[relation] for name, relation in relations.items()}


def _models(events: list, manifest_path: Path) -> dict[str, dict]:
    """The manifest node of each model output among dbt's events, by output name."""
    nodes = json.loads(Path(manifest_path).read_text())["nodes"]
    return {e.output_name: nodes[e.metadata["unique_id"].value] for e in events if isinstance(e, dg.Output)}
