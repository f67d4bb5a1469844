"""One whole-loop materialization per session, shared by the e2e modules; the service is stopped after.

It launches the same runs as `make demo` (data, one candidate per spec, then gate, serving and
monitoring) on every 10th flight, into a persistent instance the UI test reads.
"""

import dagster as dg
import pytest

from ml_platform.cli import demo_stages
from ml_platform.serving import deploy
from ml_platform.settings import get_settings
from resources.storage import ReferenceDataResource


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
    from ml_platform.definitions import assets, resources

    settings = get_settings()
    settings.dagster_home.mkdir(parents=True, exist_ok=True)
    instance = dg.DagsterInstance.local_temp(tempdir=str(settings.dagster_home))
    stages = []
    try:
        for selection, partition in demo_stages():
            stages.append(dg.materialize(
                assets,
                selection=selection,
                partition_key=partition,
                resources={**resources, "reference_data": ReferenceDataResource(sample_every=10)},
                instance=instance,
                raise_on_error=False,
            ))
        yield Stages(stages), settings
    finally:
        deploy.stop(settings.serving_dir)
