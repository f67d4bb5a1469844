"""features/*: the blocking leakage check on the point-in-time features dbt builds."""

import dagster as dg

from assets.dbt import DUCKDB_POOL
from assets.keys import FEATURES
from assets.metadata import metrics_table
from assets.partitions import window_days
from ml_platform import leakage
from resources.storage import WarehouseResource


@dg.asset_check(asset=FEATURES, blocking=True, pool=DUCKDB_POOL)
def check_no_leakage(context: dg.AssetCheckExecutionContext, warehouse: WarehouseResource) -> dg.AssetCheckResult:
    """Sampled days recompute from data before D only, and no single feature predicts the label almost perfectly."""
    first, last = window_days(context)
    report = warehouse.check_leakage(first, last)
    (context.log.info if report.passed else context.log.error)(report.message())
    return dg.AssetCheckResult(
        passed=report.passed,
        description=report.message(),
        metadata={
            "days_recomputed": dg.MetadataValue.json([str(d) for d in report.days]),
            "mismatched_rows": dg.MetadataValue.json(report.mismatches),
            "single_feature_auc": metrics_table(report.auc),
            "auc_limit": leakage.AUC_LIMIT,
        },
    )
