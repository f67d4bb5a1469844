from datetime import date

import numpy as np
import pytest

from ml_platform.training import TrainWindow, train_lightgbm

WINDOW = TrainWindow(date(2013, 1, 1), date(2013, 3, 31), date(2013, 4, 1), date(2013, 4, 30))


def test_window_must_be_time_ordered():
    with pytest.raises(ValueError, match="time-ordered"):
        TrainWindow(date(2013, 1, 1), date(2013, 5, 1), date(2013, 4, 1), date(2013, 6, 1))


def test_split_is_strictly_before_and_after(feature_frame):
    train, valid = WINDOW.split(feature_frame)
    assert train["flight_date"].max() < valid["flight_date"].min()


def test_empty_window_is_named(feature_frame):
    late = TrainWindow(date(2013, 1, 1), date(2013, 3, 31), date(2014, 1, 1), date(2014, 2, 1))
    with pytest.raises(ValueError, match="validation window"):
        late.split(feature_frame)


def test_learns_the_signal_and_is_reproducible(feature_frame):
    train, valid = WINDOW.split(feature_frame)
    first = train_lightgbm(train, valid, params={"max_rounds": 200})
    second = train_lightgbm(train, valid, params={"max_rounds": 200})
    assert first.metrics["auc"] > 0.75
    np.testing.assert_array_equal(first.valid_predictions, second.valid_predictions)
    top_two = list(first.feature_importance)[:2]
    assert set(top_two) == {"sched_dep_hour", "carrier"}
