"""retrain_sensor on real whylogs profiles: a shift is caught in one tick, calm days are not, the cool-down holds."""

import json
from datetime import date, timedelta

import dagster as dg
import polars as pl
import pytest

from ml_platform import monitoring
from ml_platform.features import FEATURES
from orchestration.definitions import defs
from resources.monitoring import MonitoringResource
from resources.storage import LakeResource
from sensors import ticks

NAMES = [f.name for f in FEATURES]
SHIFT_FROM = date(2013, 4, 1)


@pytest.fixture
def lake(feature_frame, tmp_path):
    store = monitoring.MonitoringStore(tmp_path)
    reference = feature_frame.filter(pl.col("flight_date") < date(2013, 3, 1))
    store.write_reference(monitoring.Reference("2", "lightgbm", date(2013, 2, 1), date(2013, 2, 28), reference.height,
                                               0.7), monitoring.profile_scored(reference, None, NAMES))
    return store


def _land(store, frame, first, last, shift=False):
    days = frame.filter(pl.col("flight_date").is_between(first, last))
    if shift:
        days = days.with_columns(pl.col("temp") + 200)
    monitoring.profile_days(store, days, None, NAMES)


def _tick(store, cursor=None, **policy):
    resources = {"lake_store": LakeResource(root=str(store.root.parent)),
                 "monitor": MonitoringResource(cooldown_days=14, **policy)}
    return ticks.evaluate(defs, "retrain_sensor", cursor=cursor, resources=resources)  # as the daemon has it done


def test_calm_days_request_nothing_and_every_decision_is_recorded(lake, feature_frame):
    _land(lake, feature_frame, date(2013, 3, 1), date(2013, 3, 10))
    result = _tick(lake)
    assert result.requests == []
    assert len(lake.decisions()) == 10 and not any(d["retrain"] for d in lake.decisions())
    (event,) = result.asset_events
    assert event.asset_key == dg.AssetKey(["monitoring", "retrain_decisions"]) and event.metadata["retrains"].value == 0


def test_a_shift_requests_one_retrain_within_the_tick_then_the_cooldown_holds(lake, feature_frame):
    _land(lake, feature_frame, date(2013, 3, 20), SHIFT_FROM - timedelta(days=1))
    _land(lake, feature_frame, SHIFT_FROM, SHIFT_FROM + timedelta(days=6), shift=True)  # one tick: a week lands
    first = _tick(lake)
    [(job, request)] = first.requests
    assert job == "retrain_job"  # the named job the daemon launches, with the whole retrain chain in it
    # drift is scored on the trailing week: temp (threshold 0.6) counts once most of the week has moved
    detected = date.fromisoformat(request.tags["ml_platform/retrain_day"])
    assert SHIFT_FROM + timedelta(days=3) <= detected <= SHIFT_FROM + timedelta(days=5)
    assert "temp" in request.tags["ml_platform/reason"]
    assert request.asset_selection is None and request.partition_key == "lightgbm"
    assert request.tags["dagster/sensor_name"] == "retrain_sensor"
    candidate = request.run_config["ops"]["models__candidate"]["config"]
    gate = request.run_config["ops"]["models__champion"]["config"]
    assert candidate["as_of"] == (detected - timedelta(days=28)).isoformat()  # the last 28 days are the holdout
    assert date.fromisoformat(gate["holdout_end"]) == detected
    assert request.run_config["ops"]["serving__online_features"]["config"]["day"] == detected.isoformat()
    # the same drift goes on: the cursor never decides a day twice, and the cool-down holds
    _land(lake, feature_frame, SHIFT_FROM + timedelta(days=7), SHIFT_FROM + timedelta(days=12), shift=True)
    second = _tick(lake, cursor=first.cursor)
    assert second.requests == []
    latest = [d for d in lake.decisions() if d["day"] > str(detected)]
    assert latest and all("cool-down" in d["reason"] for d in latest)
    assert _tick(lake, cursor=second.cursor).skip_reason is not None  # nothing new: nothing decided


def test_per_feature_threshold_silences_a_feature(lake, feature_frame):
    _land(lake, feature_frame, SHIFT_FROM, SHIFT_FROM + timedelta(days=2), shift=True)
    assert _tick(lake, feature_thresholds={"temp": 1.01}).requests == []


def test_no_reference_means_train_the_first_model_after_the_warm_up(feature_frame, tmp_path):
    store = monitoring.MonitoringStore(tmp_path)
    _land(store, feature_frame, date(2013, 1, 1), date(2013, 1, 20))
    assert _tick(store, warmup_days=30).requests == []
    _land(store, feature_frame, date(2013, 1, 21), date(2013, 2, 5))
    state = json.loads(_tick(store, warmup_days=30).cursor)
    decisions = store.decisions()
    assert [d["day"] for d in decisions if d["retrain"]] == ["2013-01-30"]
    assert state["last_retrain_day"] == "2013-01-30"
