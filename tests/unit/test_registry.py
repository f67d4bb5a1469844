"""The MLflow layer against a real sqlite backend and artifact directory."""

import mlflow
import numpy as np
import pytest

from ml_platform import registry
from ml_platform.training import train_lightgbm
from tests.unit.test_training import WINDOW


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
    return train_lightgbm(train, valid, params={"max_rounds": 50}), valid


def test_experiment_artifacts_go_where_the_platform_says(tracking):
    experiment = mlflow.get_experiment_by_name("unit")
    assert experiment.artifact_location == (tracking / "artifacts").as_uri()
    assert registry.ensure_experiment("unit", "file:///elsewhere") == experiment.experiment_id


def test_candidate_registers_a_version_and_loads_back_identically(tracking, trained):
    model, valid = trained
    record = registry.log_candidate(model, WINDOW, "unit_model", data_hash="abc", code_version="test")
    mlflow.end_run()
    assert registry.alias_version("unit_model", registry.CHALLENGER) == record.version
    assert registry.alias_version("unit_model", registry.CHAMPION) is None
    loaded = registry.load_model("unit_model", version=record.version)
    np.testing.assert_allclose(loaded.booster.predict(loaded.contract.to_matrix(valid)),
                               model.valid_predictions, rtol=1e-6)
    run = mlflow.get_run(record.run_id)
    assert run.data.tags["data.feature_hash"] == "abc"
    assert run.data.metrics["holdout_auc"] == pytest.approx(model.metrics["auc"])


def test_promotion_moves_champion_and_remembers_the_previous(tracking, trained):
    model, _ = trained
    first = registry.log_candidate(model, WINDOW, "unit_model", "h1", "test")
    mlflow.end_run()
    assert registry.promote_challenger("unit_model").previous is None
    second = registry.log_candidate(model, WINDOW, "unit_model", "h2", "test")
    mlflow.end_run()
    promotion = registry.promote_challenger("unit_model")
    assert (promotion.version, promotion.previous) == (second.version, first.version)
    assert registry.load_model("unit_model").version == second.version


def test_loading_without_champion_says_what_to_do(tracking):
    with pytest.raises(LookupError, match="no 'champion' alias"):
        registry.load_model("never_trained")


def test_exported_model_scores_like_the_registered_one_without_mlflow(tracking, trained):
    from ml_platform.serving.scoring import ServedModel

    model, valid = trained
    record = registry.log_candidate(model, WINDOW, "unit_model", "h", "test")
    mlflow.end_run()
    directory = registry.export_model("unit_model", record.version, tracking / "served")
    assert registry.export_model("unit_model", record.version, tracking / "served") == directory  # reused
    served = ServedModel.load(directory)
    assert (served.name, served.version) == ("unit_model", record.version)
    np.testing.assert_allclose(served.score_rows(valid.to_dicts()), model.valid_predictions, rtol=1e-6)
