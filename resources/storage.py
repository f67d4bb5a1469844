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

    def with_row_counts(self, events: list, manifest_path: Path, window: tuple[date, date] | None = None) -> list:
        """Add ``dagster/row_count`` to dbt model outputs, read once dbt has released the file.

        With a partition window, daily models (keyed by their date column) count only the window's rows.
        """
        nodes = json.loads(Path(manifest_path).read_text())["nodes"]
        outputs = [e for e in events if isinstance(e, dg.Output)]
        models = {e.output_name: nodes[e.metadata["unique_id"].value] for e in outputs}
        queries = {name: warehouse.RowCount(node["relation_name"], node["config"].get("unique_key") if window else None)
                   for name, node in models.items()}
        counts = warehouse.row_counts(Path(self.duckdb_path), set(queries.values()), window)
        return [
            e.with_metadata({**e.metadata, "dagster/row_count": counts[queries[e.output_name]]})
            if isinstance(e, dg.Output) else e
            for e in events
        ]
