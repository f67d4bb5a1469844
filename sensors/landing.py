"""landing_sensor: new or re-dropped day files in the landing zone -> runs of the matching raw partitions."""

import json

import dagster as dg

from assets.dbt import daily_dbt_models
from assets.keys import FEATURE_PROFILE, LIVE_PERFORMANCE
from ml_platform import landing
from resources.storage import LakeResource, LandingResource
from sensors.jobs import daily_data_job

RANGE_START, RANGE_END = "dagster/asset_partition_range_start", "dagster/asset_partition_range_end"


@dg.sensor(job=daily_data_job, minimum_interval_seconds=30, default_status=dg.DefaultSensorStatus.RUNNING)
def landing_sensor(context: dg.SensorEvaluationContext, landing_zone: LandingResource,
                   lake_store: LakeResource) -> dg.SensorResult:
    """Request raw/<table> and everything daily after it (staging, features, monitoring) for each day whose
    file is new or re-dropped."""
    seen = json.loads(context.cursor) if context.cursor else {}
    days, seen = landing.pending(landing.landed_files(landing_zone.path), seen, lake_store.location)
    requests = []
    for first, last, tables in landing.contiguous_runs(days):
        selection = [dg.AssetKey(["raw", t]) for t in sorted(tables)] + sorted(daily_dbt_models.keys) + [
            FEATURE_PROFILE, LIVE_PERFORMANCE]
        window = {"partition_key": first.isoformat()} if first == last else {
            "tags": {RANGE_START: first.isoformat(), RANGE_END: last.isoformat()}}
        stamp = max(seen[f"{t}/{d}"] for t in tables for d in (first, last))
        requests.append(dg.RunRequest(run_key=f"{'+'.join(sorted(tables))}:{first}..{last}@{stamp}",
                                      asset_selection=selection, **window))
    if requests:
        context.log.info(f"requesting {len(requests)} runs for {len(days)} landed days")
    return dg.SensorResult(run_requests=requests, cursor=json.dumps(seen, sort_keys=True))
