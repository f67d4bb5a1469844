"""The MLflow layer against a real sqlite backend and artifact directory."""

import mlflow
import numpy as np
import pytest
import torch

from ml_platform import registry
from ml_platform.specs import SPECS
from ml_platform.training import fit_candidate
from tests.unit.test_training import QUICK, WINDOW


@pytest.fixture()
def tracking(tmp_path, monkeypatch):
    previous = mlflow.get_tracking_uri()
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'mlflow.db'}")
    mlflow.set_tracking_uri(f"sqlite:///{tmp_path / 'mlflow.db'}")
    registry.ensure_experiment("unit", (tmp_path / "artifacts").as_uri())
    mlflow.set_experiment("unit")
    yield tmp_path
    mlflow.end_run()
    mlflow.set_tracking_uri(previous)


@pytest.fixture(scope="module")
def trained(feature_frame):
    train, valid = WINDOW.split(feature_frame)
    models = {spec: fit_candidate(SPECS[spec], train, valid, params=QUICK[spec]) for spec in SPECS}
    return models, valid


def log(model, name="unit_model"):
    record = registry.log_candidate(model, WINDOW, name, data_hash="abc", code_version="test")
    mlflow.end_run()
    return record


def test_experiment_artifacts_go_where_the_platform_says(tracking):
    experiment = mlflow.get_experiment_by_name("unit")
    assert experiment.artifact_location == (tracking / "artifacts").as_uri()
    assert registry.ensure_experiment("unit", "file:///elsewhere") == experiment.experiment_id


@pytest.mark.parametrize("spec", sorted(SPECS))
def test_every_spec_round_trips_through_the_registry(tracking, trained, spec):
    models, valid = trained
    record = log(models[spec])
    assert registry.alias_version("unit_model", registry.candidate_alias(spec)) == record.version
    assert registry.alias_version("unit_model", registry.CHAMPION) is None
    loaded = registry.load_model("unit_model", version=record.version)
    assert loaded.spec == spec
    np.testing.assert_allclose(loaded.predict_frame(valid), models[spec].valid_predictions, rtol=1e-5)
    run = mlflow.get_run(record.run_id)
    assert run.data.tags["data.feature_hash"] == "abc"
    assert run.data.metrics["holdout_auc"] == pytest.approx(models[spec].metrics["auc"])
    artifacts = {a.path for a in mlflow.MlflowClient().list_artifacts(record.run_id, "plots")}
    assert "plots/calibration.png" in artifacts


def test_a_version_loads_once_and_a_recreated_one_afresh(tracking, trained):
    """A process that scores with the same champion step after step loads it once; a registry rebuilt
    at the same place reuses version numbers, and its versions are not mistaken for the old ones."""
    models, valid = trained
    record = log(models["lightgbm"])
    first = registry.load_model("unit_model", version=record.version)
    assert registry.load_model("unit_model", version=record.version) is first
    mlflow.MlflowClient().delete_registered_model("unit_model")
    rebuilt = log(models["torch_mlp"])
    assert rebuilt.version == record.version
    loaded = registry.load_model("unit_model", version=rebuilt.version)
    assert loaded.spec == "torch_mlp"
    np.testing.assert_allclose(loaded.predict_frame(valid), models["torch_mlp"].valid_predictions, rtol=1e-5)


def test_torch_weights_are_a_plain_state_dict(tracking, trained):
    record = log(trained[0]["torch_mlp"])
    local = mlflow.artifacts.download_artifacts(f"models:/unit_model/{record.version}")
    state = torch.load(f"{local}/model.pt", weights_only=True)  # refuses anything but tensors & containers
    assert all(isinstance(v, torch.Tensor) for v in state.values())


def test_loading_without_champion_says_what_to_do(tracking):
    with pytest.raises(LookupError, match="no 'champion' alias"):
        registry.load_model("never_trained")


@pytest.mark.parametrize("spec", sorted(SPECS))
def test_exported_model_scores_like_the_registered_one_without_mlflow(tracking, trained, spec):
    from ml_platform.serving.scoring import ServedModel

    models, valid = trained
    model = models[spec]
    record = log(model)
    directory = registry.export_model("unit_model", record.version, tracking / "served")
    assert registry.export_model("unit_model", record.version, tracking / "served") == directory  # reused
    served = ServedModel.load(directory)
    assert (served.name, served.version) == ("unit_model", record.version)
    np.testing.assert_allclose(served.score_rows(valid.to_dicts()), model.valid_predictions, rtol=1e-6)


def test_lightgbm_model_declares_its_pinned_requirements_and_loads_as_pyfunc(tracking, trained):
    """The flavor's own pins are written (MLflow does not have to infer them) and the model loads in MLflow."""
    from importlib.metadata import version

    models, valid = trained
    record = log(models["lightgbm"])
    folder = mlflow.artifacts.download_artifacts(f"runs:/{record.run_id}/model", dst_path=str(tracking / "dl"))
    requirements = (tracking / "dl" / "model" / "requirements.txt").read_text().split()
    assert f"lightgbm=={version('lightgbm')}" in requirements
    assert any(line.startswith("mlflow") for line in requirements)
    pyfunc = mlflow.pyfunc.load_model(folder)
    matrix = models["lightgbm"].contract.to_matrix(valid)
    np.testing.assert_allclose(pyfunc.predict(matrix), models["lightgbm"].valid_predictions, rtol=1e-6)


def test_the_mlflow_warm_up_builds_the_map_mlflow_uses_when_it_logs_a_model(tracking, trained, monkeypatch):
    """Guard for registry.prepare_model_logging's reach into MLflow's private API (docs/upgrading.md).

    Fails when the locked MLflow drops the hook, or stops using the map it builds when a model is logged
    (then the warm-up is dead weight and should go).
    """
    from mlflow.utils import requirements_utils

    monkeypatch.setattr(requirements_utils, "_MODULES_TO_PACKAGES", None)
    thread = registry.prepare_model_logging()
    assert thread is not None, "MLflow has no _init_modules_to_packages_map any more: remove the warm-up"
    thread.join(timeout=120)
    assert requirements_utils._MODULES_TO_PACKAGES

    asked, built = [], []
    init = requirements_utils._init_modules_to_packages_map
    monkeypatch.setattr(requirements_utils, "_init_modules_to_packages_map", lambda: (asked.append(1), init())[1])
    monkeypatch.setattr(requirements_utils.importlib_metadata, "packages_distributions", lambda: built.append(1) or {})
    log(trained[0]["lightgbm"])  # the flavor's save checks its requirements against the environment
    assert asked, "MLflow no longer asks for the map when it logs a model: remove the warm-up"
    assert not built, "MLflow built its package map again: the warm-up no longer saves anything"
