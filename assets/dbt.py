"""staging/* and features/*: the dbt-duckdb project, run through dagster-dbt."""

from collections.abc import Mapping
from typing import Any

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliResource, DbtProject, dbt_assets

from ml_platform.settings import DBT_PROJECT_DIR
from resources.storage import WarehouseResource

dbt_project = DbtProject(project_dir=DBT_PROJECT_DIR, profiles_dir=DBT_PROJECT_DIR)
dbt_project.prepare_if_dev()

DUCKDB_POOL = "duckdb"  # DuckDB has one writer: every asset that writes it shares this pool (limit 1)


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
    pool=DUCKDB_POOL,
)
def dbt_models(context: dg.AssetExecutionContext, dbt: DbtCliResource, warehouse: WarehouseResource):
    """Build staging views and feature tables in DuckDB; dbt tests become asset checks."""
    # dbt holds DuckDB's single write lock until it exits: collect its events, then count rows
    events = list(dbt.cli(["build"], context=context).stream())
    yield from warehouse.with_row_counts(events, dbt_project.manifest_path)
