"""The Dagster instance the ``ml-platform`` commands and the replay run on: ``$DAGSTER_HOME`` and its dagster.yaml."""

from __future__ import annotations

import os

import yaml

from ml_platform import atomic
from ml_platform.settings import PROJECT_ROOT, Settings


def dagster_environment(settings: Settings) -> dict[str, str]:
    """Child-process environment: the platform's locations plus a prepared DAGSTER_HOME."""
    instance_yaml = settings.dagster_home / "dagster.yaml"
    if not instance_yaml.exists():
        shared = (PROJECT_ROOT / "deploy" / "dagster.yaml").read_text()
        atomic.write_text(instance_yaml, shared + local_event_log(settings))
    # a single-run backfill plans each asset's whole partition range in one event, not one per partition
    # (saves minutes on the year's range; a failed run then does not mark each partition failed)
    return {**os.environ, **settings.subprocess_env(), "DAGSTER_HOME": str(settings.dagster_home),
            "DAGSTER_EMIT_PARTITION_SUBSET_IN_PLANNED_EVENTS": "true"}


def local_event_log(settings: Settings) -> str:
    """The instance's event log on a laptop: Dagster's SQLite files, written through pooled connections."""
    storage = {"module": "resources.event_log", "class": "PooledSqliteEventLogStorage",
               "config": {"base_dir": str(settings.dagster_home / "history" / "runs")}}  # Dagster's default place
    return "# this home's event log: resources/event_log.py says why\n" + yaml.safe_dump({"event_log_storage": storage})
