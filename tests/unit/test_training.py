from datetime import date

import numpy as np
import pytest

from ml_platform.specs import SPECS
from ml_platform.training import TrainWindow, fit_candidate

WINDOW = TrainWindow(date(2013, 1, 1), date(2013, 3, 31), date(2013, 4, 1), date(2013, 4, 30))
QUICK = {"lightgbm": {"max_rounds": 200}, "torch_mlp": {"max_epochs": 4}}


def test_window_must_be_time_ordered():
    with pytest.raises(ValueError, match="time-ordered"):
        TrainWindow(date(2013, 1, 1), date(2013, 5, 1), date(2013, 4, 1), date(2013, 6, 1))


def test_trailing_window_ends_at_as_of_and_validates_after():
    window = TrainWindow.trailing(date(2013, 9, 30), train_days=273, valid_days=92)
    assert window == TrainWindow()


def test_split_is_strictly_before_and_after(feature_frame):
    train, valid = WINDOW.split(feature_frame)
    assert train["flight_date"].max() < valid["flight_date"].min()


def test_empty_window_is_named(feature_frame):
    late = TrainWindow(date(2013, 1, 1), date(2013, 3, 31), date(2014, 1, 1), date(2014, 2, 1))
    with pytest.raises(ValueError, match="validation window"):
        late.split(feature_frame)


@pytest.mark.parametrize("spec", sorted(SPECS))
def test_every_spec_learns_the_signal_reproducibly_on_cpu(feature_frame, spec):
    train, valid = WINDOW.split(feature_frame)
    first = fit_candidate(SPECS[spec], train, valid, params=QUICK[spec])
    second = fit_candidate(SPECS[spec], train, valid, params=QUICK[spec])
    assert first.metrics["auc"] > 0.75
    np.testing.assert_array_equal(first.valid_predictions, second.valid_predictions)


def test_lightgbm_importance_finds_the_planted_features(feature_frame):
    train, valid = WINDOW.split(feature_frame)
    model = fit_candidate(SPECS["lightgbm"], train, valid, params=QUICK["lightgbm"])
    assert set(list(model.feature_importance)[:2]) == {"sched_dep_hour", "carrier"}


def test_torch_model_stays_flat_past_its_training_range(feature_frame, tmp_path):
    """Months 4+ never seen in a Jan-Mar window score as the last month seen, as a tree would; the clamp survives a save."""
    from ml_platform.specs import torch_mlp

    train, valid = WINDOW.split(feature_frame)
    model = fit_candidate(SPECS["torch_mlp"], train, valid, params=QUICK["torch_mlp"])
    names = model.contract.names
    rows = model.contract.to_matrix(valid.head(200))
    month = names.index("month")
    seen_last = rows.copy()
    seen_last[:, month] = train["month"].max()
    beyond = rows.copy()
    beyond[:, month] = 12.0
    np.testing.assert_allclose(model.predictor.predict(beyond), model.predictor.predict(seen_last), rtol=1e-6)
    torch_mlp.save(model.predictor, tmp_path / "model", {})
    np.testing.assert_array_equal(torch_mlp.load(tmp_path / "model").predict(beyond), model.predictor.predict(beyond))


def test_a_torch_model_saved_before_the_clamp_still_loads(feature_frame, tmp_path):
    import torch

    from ml_platform.specs import torch_mlp

    train, valid = WINDOW.split(feature_frame)
    model = fit_candidate(SPECS["torch_mlp"], train, valid, params=QUICK["torch_mlp"])
    torch_mlp.save(model.predictor, tmp_path / "model", {})
    state = torch.load(tmp_path / "model" / torch_mlp.WEIGHTS, weights_only=True)
    torch.save({k: v for k, v in state.items() if k not in ("low", "high")}, tmp_path / "model" / torch_mlp.WEIGHTS)
    inside = model.contract.to_matrix(train.head(50))  # within the training range the clamp changes nothing
    np.testing.assert_allclose(torch_mlp.load(tmp_path / "model").predict(inside), model.predictor.predict(inside),
                               rtol=1e-6)
    torch.save({**state, "extra": torch.zeros(1)}, tmp_path / "model" / torch_mlp.WEIGHTS)
    with pytest.raises(RuntimeError, match="unexpected"):
        torch_mlp.load(tmp_path / "model")
