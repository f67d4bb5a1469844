import numpy as np
import pytest

from ml_platform.evaluation import classification_metrics, expected_calibration_error


def test_perfect_ranking_has_auc_one_and_random_about_half():
    y = np.array([0, 0, 1, 1] * 250)
    assert classification_metrics(y, y * 0.8 + 0.1)["auc"] == 1.0
    rng = np.random.default_rng(0)
    assert abs(classification_metrics(y, rng.uniform(size=y.size))["auc"] - 0.5) < 0.06


def test_calibration_error_is_small_for_calibrated_and_large_for_overconfident():
    rng = np.random.default_rng(1)
    p = rng.uniform(size=50_000)
    y = rng.uniform(size=p.size) < p
    assert expected_calibration_error(y, p) < 0.02
    assert expected_calibration_error(y, np.where(p > 0.5, 0.99, 0.01)) > 0.2


def test_single_class_holdout_is_a_clear_error():
    with pytest.raises(ValueError, match="single class"):
        classification_metrics(np.zeros(10), np.full(10, 0.3))
