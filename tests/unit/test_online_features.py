"""The online snapshot: point-in-time values per key, the training features' fallbacks, a file round trip."""

from datetime import timedelta

import polars as pl
import pytest

from ml_platform import online_snapshot
from ml_platform.features import FEATURES
from ml_platform.serving.online import OnlineFeatures, scheduled_request
from tests.unit.conftest import ONLINE_DAY


@pytest.fixture(scope="module")
def online(online_warehouse):
    path, _ = online_warehouse
    return online_snapshot.build(path, ONLINE_DAY)


def _rate(flights: pl.DataFrame, days: int, **keys) -> float:
    window = flights.filter(pl.col("flight_date").is_between(ONLINE_DAY - timedelta(days=days),
                                                             ONLINE_DAY - timedelta(days=1)),
                            *[pl.col(k) == v for k, v in keys.items()])
    return window.get_column("is_delayed").mean()


def _flight(**changes):
    return {"date": ONLINE_DAY, "carrier": "UA", "origin": "AA", "dest": "DL", "sched_dep_hour": 17,
            "sched_arr_hour": 20, "distance": 500.0, "tailnum": "N1", **changes}


def test_lookups_give_the_point_in_time_values_of_the_days_before(online, online_warehouse):
    _, flights = online_warehouse
    row = online.feature_row(_flight())
    assert row["carrier_delay_rate_7d"] == pytest.approx(_rate(flights, 7, carrier="UA"))
    assert row["route_delay_rate_28d"] == pytest.approx(_rate(flights, 28, origin="AA", dest="DL"))
    assert row["origin_hour_delay_rate_28d"] == pytest.approx(_rate(flights, 28, origin="AA", sched_dep_hour=17))
    previous = flights.filter(pl.col("flight_date") == ONLINE_DAY - timedelta(days=1), pl.col("origin") == "AA")
    assert row["origin_volume_prev_day"] == previous.height
    assert (row["temp"], row["visib"]) == (55.0, 6.0)  # the origin's weather at the scheduled hour of D
    assert (row["plane_age"], row["seats"]) == (ONLINE_DAY.year - 2001, 150)
    assert (row["month"], row["day_of_week"]) == (4, ONLINE_DAY.isoweekday())
    assert set(row) >= {f.name for f in FEATURES}


def test_unknown_keys_get_what_the_training_features_give_a_flight_without_history(online):
    row = online.feature_row(_flight(carrier="DL", origin="B6", dest="AA", sched_dep_hour=3, tailnum=None))
    for name in ("carrier_delay_rate_7d", "route_delay_rate_28d", "origin_hour_delay_rate_28d", "temp",
                 "plane_age", "seats"):
        assert row[name] is None, name  # missing, as the features' left join leaves it
    assert row["origin_volume_prev_day"] == 0  # dbt coalesces the volume to 0
    assert online.feature_row(_flight(tailnum="N2"))["plane_age"] is None  # a plane without a build year


def test_the_request_carries_what_is_known_at_schedule_time_only(online, online_warehouse):
    assert online.request_fields() == ["carrier", "origin", "dest", "sched_dep_hour", "sched_arr_hour", "distance",
                                       "tailnum"]
    _, flights = online_warehouse
    row = flights.filter(pl.col("flight_date") == ONLINE_DAY).row(0, named=True)
    assert set(scheduled_request(row, online)) == {"date", *online.request_fields()}


def test_the_snapshot_file_round_trips(online, tmp_path):
    path = online_snapshot.write(online, tmp_path / "online.json")
    loaded = OnlineFeatures.load(path)
    assert loaded == online
    assert loaded.feature_row(_flight()) == online.feature_row(_flight())


def test_a_day_without_a_schedule_is_refused(online_warehouse):
    path, _ = online_warehouse
    with pytest.raises(ValueError, match="no flights scheduled on 2013-04-11"):
        online_snapshot.build(path, ONLINE_DAY + timedelta(days=1))
