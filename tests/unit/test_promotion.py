"""The gate decides on one shared holdout; rollback walks the promotion history back."""

import polars as pl
import pytest

from ml_platform import history, promotion, registry
from ml_platform.promotion import GatePolicy, Scored, decide
from ml_platform.features import LABEL
from ml_platform.specs import SPECS
from ml_platform.training import fit_candidate
from tests.unit.test_registry import log, trained, tracking  # noqa: F401  (fixtures)
from tests.unit.test_training import QUICK, WINDOW

POLICY = GatePolicy(min_auc_gain=0.01, max_ece=0.05, auc_floor=0.7)


def scored(version, auc, ece=0.01):
    return Scored(version, "lightgbm", {"auc": auc, "ece": ece})


def test_first_model_passes_on_the_floor_only():
    assert decide(scored("1", 0.71), None, POLICY).status == promotion.PROMOTED
    assert decide(scored("1", 0.69), None, POLICY).status == promotion.REJECTED


def test_challenger_must_beat_the_champion_by_the_margin():
    champion = scored("1", 0.72)
    assert decide(scored("2", 0.725), champion, POLICY).status == promotion.REJECTED
    better = decide(scored("2", 0.74), champion, POLICY)
    assert better.status == promotion.PROMOTED and "beats champion v1" in better.reason


def test_miscalibrated_challenger_is_rejected_whatever_its_auc():
    decision = decide(scored("2", 0.9, ece=0.2), scored("1", 0.72), POLICY)
    assert decision.status == promotion.REJECTED and "calibration error" in decision.reason
    assert not decision.passed


def test_same_version_is_unchanged_and_passes():
    decision = decide(scored("1", 0.72), scored("1", 0.72), POLICY)
    assert decision.status == promotion.UNCHANGED and decision.passed


@pytest.fixture()
def holdout(trained):  # noqa: F811
    return trained[1]


def _trained_on_shuffled_labels(frame):
    """A genuinely worse model: the same spec fit on labels decoupled from the features."""
    train, valid = WINDOW.split(frame)
    noise = train.with_columns(pl.col(LABEL).shuffle(seed=3))
    return fit_candidate(SPECS["lightgbm"], noise, valid, params=QUICK["lightgbm"])


def test_gate_blocks_a_worse_model_and_promotes_a_better_one(tracking, trained, holdout, tmp_path,  # noqa: F811
                                                             feature_frame):
    models, _ = trained
    path = tmp_path / "promotions.jsonl"
    policy = GatePolicy(min_auc_gain=0.0, max_ece=1.0, auc_floor=0.5)
    good = log(models["lightgbm"])
    first = promotion.run_gate("unit_model", ["lightgbm"], holdout, policy, path)
    assert first.status == promotion.PROMOTED
    assert registry.alias_version("unit_model", registry.CHAMPION) == good.version

    shuffled = log(_trained_on_shuffled_labels(feature_frame))
    second = promotion.run_gate("unit_model", ["lightgbm"], holdout, policy, path)
    assert second.status == promotion.REJECTED and second.challenger.version == shuffled.version
    assert registry.alias_version("unit_model", registry.CHAMPION) == good.version  # never promoted
    assert [e["action"] for e in history.read(path)] == ["promote", "reject"]


def test_rollback_restores_the_previous_champion_and_is_recorded(tracking, trained, holdout, tmp_path):  # noqa: F811
    models, _ = trained
    path = tmp_path / "promotions.jsonl"
    policy = GatePolicy(min_auc_gain=-1.0, max_ece=1.0, auc_floor=0.5)  # accept every new version
    v1 = log(models["lightgbm"]).version
    promotion.run_gate("unit_model", ["lightgbm"], holdout, policy, path)
    v2 = log(models["torch_mlp"]).version
    promotion.run_gate("unit_model", ["torch_mlp"], holdout, policy, path)
    assert registry.alias_version("unit_model", registry.CHAMPION) == v2
    event = promotion.rollback("unit_model", path)
    assert (event["previous"], event["version"]) == (v2, v1)
    assert registry.alias_version("unit_model", registry.CHAMPION) == v1
    with pytest.raises(LookupError, match="no earlier champion"):
        promotion.rollback("unit_model", path)
    assert [e["action"] for e in history.read(path)] == ["promote", "promote", "rollback"]
