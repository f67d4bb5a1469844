"""A snapshot of the whole code location: every asset (deps, partitions, checks, automation), job, sensor and
schedule. A change to the graph shows in review as a change to tests/snapshots/definitions.json.

After an intended change: `UPDATE_SNAPSHOT=1 .venv/bin/pytest tests/test_graph_snapshot.py`, then review the diff.
"""

import json
import os
from pathlib import Path

import dagster as dg

from orchestration.definitions import defs

SNAPSHOT = Path(__file__).parent / "snapshots" / "definitions.json"


def _partitions(partitions_def) -> dict | None:
    if partitions_def is None:
        return None
    keys = partitions_def.get_partition_keys()
    return {"type": type(partitions_def).__name__, "count": len(keys), "first": keys[0], "last": keys[-1]}


def _checks(node, blocking: dict) -> dict[str, bool]:
    return {key.name: blocking[key] for key in sorted(node.check_keys, key=lambda k: k.name)}


def snapshot() -> dict:
    graph = defs.resolve_asset_graph()
    blocking = {spec.key: spec.blocking for definition in graph.assets_defs for spec in definition.check_specs}
    assets = {}
    for key in sorted(graph.get_all_asset_keys(), key=lambda k: k.to_user_string()):
        node = graph.get(key)
        assets[key.to_user_string()] = {
            "group": node.group_name,
            "kinds": sorted(node.kinds),
            "deps": sorted(p.to_user_string() for p in node.parent_keys),
            "partitions": _partitions(node.partitions_def),
            "backfill_policy": str(node.backfill_policy) if node.backfill_policy else None,
            "pools": sorted(node.pools or []),
            "automation_condition": str(node.automation_condition) if node.automation_condition else None,
            "checks (name: blocking)": _checks(node, blocking),
            "materializable": node.is_materializable,
        }
    jobs = {job.name: sorted(k.to_user_string() for k in job.selection.resolve(graph))
            for job in defs.jobs or []}
    sensors = {s.name: {"job": s.job_name if s.has_jobs else None, "default_status": s.default_status.value,
                        "minimum_interval_seconds": s.minimum_interval_seconds}
               for s in sorted(defs.sensors or [], key=lambda s: s.name)}
    schedules = {s.name: {"job": s.job_name, "cron": s.cron_schedule, "timezone": s.execution_timezone,
                          "default_status": s.default_status.value}
                 for s in sorted(defs.schedules or [], key=lambda s: s.name)}
    return {"assets": assets, "jobs": jobs, "sensors": sensors, "schedules": schedules}


def test_the_code_location_matches_its_snapshot():
    current = snapshot()
    if os.environ.get("UPDATE_SNAPSHOT"):
        SNAPSHOT.write_text(json.dumps(current, indent=1, sort_keys=True) + "\n")
    recorded = json.loads(SNAPSHOT.read_text())
    for part in ("assets", "jobs", "sensors", "schedules"):
        changed = {k for k in recorded[part].keys() | current[part].keys()
                   if recorded[part].get(k) != current[part].get(k)}
        assert not changed, f"{part} changed: {sorted(changed)} (intended? UPDATE_SNAPSHOT=1, then review the diff)"
    assert len(current["assets"]) == 23 and dg.AssetKey(["models", "champion"]).to_user_string() in current["assets"]
