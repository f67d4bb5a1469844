"""One whole-loop materialization per session, shared by the e2e modules; the service is stopped after."""

import dagster as dg
import pytest

from ml_platform.serving import deploy
from ml_platform.settings import get_settings
from resources.storage import ReferenceDataResource


@pytest.fixture(scope="session")
def loop():
    from ml_platform.definitions import assets, resources

    settings = get_settings()
    try:
        result = dg.materialize(
            assets,
            resources={**resources, "reference_data": ReferenceDataResource(sample_every=10)},
            instance=dg.DagsterInstance.ephemeral(),
        )
        yield result, settings
    finally:
        deploy.stop(settings.serving_dir)
