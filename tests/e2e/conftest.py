"""One whole-loop materialization per session, shared by the e2e modules; the service is stopped after.

It launches the same runs as `make demo` (data, one candidate per spec, then gate, serving and
monitoring) on every 10th flight landed for the whole year, into a persistent instance the UI test reads.
"""

import dagster as dg
import pytest

from ml_platform import landing
from ml_platform.serving import deploy
from ml_platform.settings import get_settings
from orchestration.cli import YEAR, dagster_environment, demo_stages


def _partition(partition: str | None) -> dict:
    """In-process form of the CLI's --partition / --partition-range: a key, or a range run's tags."""
    if partition is None or "..." not in partition:
        return {"partition_key": partition}
    first, last = partition.split("...")
    return {"tags": {"dagster/asset_partition_range_start": first, "dagster/asset_partition_range_end": last}}


class Stages:
    """The results of several runs, read like one."""

    def __init__(self, results):
        self.results = results
        self.success = all(r.success for r in results)

    def get_asset_materialization_events(self):
        return [e for r in self.results for e in r.get_asset_materialization_events()]

    def get_asset_check_evaluations(self):
        return [e for r in self.results for e in r.get_asset_check_evaluations()]


@pytest.fixture(scope="session")
def loop():
    from orchestration.definitions import asset_checks, assets, resources

    settings = get_settings()
    landing.land(settings.landing, *YEAR, sample_every=10)
    dagster_environment(settings)  # the home's dagster.yaml, as the CLI writes it (the pooled event log)
    instance = dg.DagsterInstance.local_temp(tempdir=str(settings.dagster_home))
    stages = []
    try:
        for selection, partition in demo_stages():
            stages.append(dg.materialize([*assets, *asset_checks], selection=selection, resources=resources,
                                         instance=instance, raise_on_error=False, **_partition(partition)))
        yield Stages(stages), settings
    finally:
        deploy.stop(settings.serving_dir)
