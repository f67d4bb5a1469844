"""Every champion lookup goes through ``RegistryResource.champion_version``: no champion is a clear failure."""

import dagster as dg
import mlflow
import pytest
from mlflow import MlflowClient

from assets.monitoring import reference_profile
from assets.serving import batch_predictions, k8s_manifests, service
from ml_platform import registry
from resources.monitoring import MonitoringResource
from resources.registry import RegistryResource
from resources.storage import LakeResource, WarehouseResource

MODEL = "unit_registry_model"


@pytest.fixture()
def tracking(tmp_path, monkeypatch):
    previous = mlflow.get_tracking_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    yield tmp_path
    mlflow.set_tracking_uri(previous)


def test_champion_version_names_the_model_and_what_to_materialize_when_there_is_none(tracking):
    resource = RegistryResource(model_name=MODEL, history_path=str(tracking / "promotions.jsonl"))
    with pytest.raises(dg.Failure, match=f"'{MODEL}' has no 'champion' alias: materialize models/candidate"):
        resource.champion_version()
    assert resource.champion_version(required=False) is None

    client = MlflowClient()
    client.create_registered_model(MODEL)
    version = client.create_model_version(MODEL, source=(tracking / "model").as_uri()).version
    registry.set_alias(MODEL, registry.CHAMPION, str(version))
    assert resource.champion_version() == resource.champion_version(required=False) == str(version)


def test_assets_that_need_a_champion_fail_with_that_message(tracking):
    """The assets ask the resource (it is a required resource of each), so they fail the same way."""
    for asset in (reference_profile, batch_predictions, service, k8s_manifests):
        assert "registry" in asset.required_resource_keys, asset.key
    resources = {
        "registry": RegistryResource(model_name=MODEL, history_path=str(tracking / "promotions.jsonl")),
        "warehouse": WarehouseResource(duckdb_path=str(tracking / "w.duckdb")),
        "lake_store": LakeResource(root=str(tracking / "lake")),
        "monitor": MonitoringResource(),
    }
    result = dg.materialize([reference_profile], resources=resources, raise_on_error=False)
    assert not result.success
    failure = next(e for e in result.all_events if e.event_type == dg.DagsterEventType.STEP_FAILURE)
    assert f"'{MODEL}' has no 'champion' alias" in failure.step_failure_data.error.message
