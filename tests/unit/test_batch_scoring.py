"""Batch scoring: the same probabilities as the model offline, one file per window, re-runs replace."""

from datetime import date

import numpy as np
import polars as pl
import pytest

from ml_platform.serving import batch
from ml_platform.serving.scoring import ServedModel
from ml_platform.specs import SPECS
from ml_platform.training import fit_candidate
from tests.unit.test_training import WINDOW


@pytest.fixture(scope="module")
def model(feature_frame):
    train, valid = WINDOW.split(feature_frame)
    trained = fit_candidate(SPECS["lightgbm"], train, valid, params={"max_rounds": 30})
    return ServedModel("flight_delay", "3", trained.predictor, trained.contract)


def test_window_is_scored_like_offline_and_rewritten_not_duplicated(model, feature_frame, tmp_path):
    window = feature_frame.head(500)
    start, end = date(2013, 1, 1), date(2013, 1, 31)
    first = batch.score_to_lake(model, window, tmp_path, start, end)
    again = batch.score_to_lake(model, window, tmp_path, start, end)
    assert first.path == again.path and first.rows == 500
    written = pl.read_parquet(again.path)
    assert written.columns == ["flight_id", "flight_date", "probability", "model_version"]
    assert written["flight_id"].to_list() == window["flight_id"].to_list()
    np.testing.assert_allclose(written["probability"].to_numpy(),
                               model.predictor.predict(model.contract.to_matrix(window)), rtol=1e-12)
    assert set(written["model_version"]) == {"3"}
    assert [p.name for p in again.path.parent.iterdir()] == ["2013-01-01_2013-01-31.parquet"]


def test_an_empty_window_says_what_to_do(model, feature_frame, tmp_path):
    with pytest.raises(ValueError, match="no feature rows"):
        batch.score_to_lake(model, feature_frame.head(0), tmp_path, date(2014, 1, 1), date(2014, 1, 1))
