"""staging/* and features/*: the dbt-duckdb project, run through dagster-dbt.

Models tagged `daily` (stg_flights, stg_weather, flight_features) are incremental and partitioned by day:
a run passes its partition window to dbt in environment variables, and dbt replaces exactly those days
(delete + insert). The reference models (planes, airlines, airports) are unpartitioned views.
"""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtProject, dbt_assets

from assets.metadata import per_partition
from assets.partitions import daily_partitions, window_days
from ml_platform.settings import DBT_PROJECT_DIR
from resources.dbt import EnvironmentDbtPreparer, PlatformDbtResource, window_env
from resources.storage import WarehouseResource

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
EnvironmentDbtPreparer().prepare_if_dev(dbt_project)

DUCKDB_POOL = "duckdb"  # DuckDB has one writer: every asset that writes it shares this pool (limit 1)
DAILY = "tag:daily"


class LayerTranslator(DagsterDbtTranslator):
    """Key dbt models by their folder (``staging/flights``); sources keep ``raw/<table>``."""

    def get_asset_spec(self, manifest: Mapping[str, Any], unique_id: str, project: DbtProject | None) -> dg.AssetSpec:
        spec = super().get_asset_spec(manifest, unique_id, project)
        node = manifest["nodes"].get(unique_id) or manifest["sources"][unique_id]
        if node["resource_type"] != "model":
            return spec
        layer = node["fqn"][1]
        name = node["name"].removeprefix("stg_")
        return spec.replace_attributes(key=dg.AssetKey([layer, name]), group_name=layer).merge_attributes(
            kinds={"duckdb"}
        )


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=LayerTranslator(),
    exclude=DAILY,
    pool=DUCKDB_POOL,
)
def reference_dbt_models(context: dg.AssetExecutionContext, dbt: PlatformDbtResource, warehouse: WarehouseResource):
    """Staging views over the reference tables; dbt tests become asset checks."""
    # dbt holds DuckDB's single write lock until it exits: collect its events, then count rows
    yield from warehouse.with_row_counts(list(dbt.build(context).stream()), dbt_project.manifest_path)


@dbt_assets(
    manifest=dbt_project.manifest_path,
    project=dbt_project,
    dagster_dbt_translator=LayerTranslator(),
    select=DAILY,
    partitions_def=daily_partitions,
    backfill_policy=dg.BackfillPolicy.single_run(),
    pool=DUCKDB_POOL,
)
def daily_dbt_models(context: dg.AssetExecutionContext, dbt: PlatformDbtResource, warehouse: WarehouseResource):
    """Daily staging and point-in-time features for the run's partition window; dbt tests become asset checks."""
    first, last = window_days(context)
    context.log.info(f"building {first}..{last}")
    events = list(dbt.build(context, env=window_env(first, last)).stream())  # counted once dbt lets go of DuckDB
    for output, by_day in warehouse.daily_row_counts(events, dbt_project.manifest_path, (first, last)).items():
        per_partition(context, {day: {"dagster/row_count": rows} for day, rows in by_day.items()},
                      context.asset_key_for_output(output))
    yield from events
