"""The scale-out generator: N× a real day that keeps the day's mix and still meets the raw contract."""

from datetime import date

import polars as pl
import pytest

from ml_platform import contracts, scaleout, sources

DAY = date(2013, 7, 1)


@pytest.fixture(scope="module")
def real_day() -> pl.DataFrame:
    flights = sources.read_table("flights")
    return flights.filter(pl.date("year", "month", "day") == DAY)


@pytest.fixture(scope="module")
def scaled(real_day) -> pl.DataFrame:
    return scaleout.scale_flights(real_day, 10, seed=1)


def _shares(frame: pl.DataFrame, column: str) -> dict:
    return dict(frame.get_column(column).value_counts(normalize=True).iter_rows())


def test_one_times_is_the_real_day(real_day):
    assert scaleout.scale_flights(real_day, 1).equals(real_day)


def test_scaled_day_meets_the_raw_contract(real_day, scaled):
    vocab = contracts.vocabularies(sources.read_table("airlines"), sources.read_table("airports"))
    result = contracts.validate(scaled, contracts.CONTRACTS["flights"], day=DAY, vocab=vocab)
    assert result.passed, result.message()
    assert scaled.height == 10 * real_day.height and scaled.schema == real_day.schema
    assert scaled.head(real_day.height).equals(real_day)  # the real flights first, untouched


def test_scaled_day_keeps_the_real_distributions(real_day, scaled):
    for column in ("carrier", "origin", "dest"):
        assert _shares(scaled, column) == pytest.approx(_shares(real_day, column))
    assert scaled["dep_time"].null_count() == 10 * real_day["dep_time"].null_count()  # cancellations
    for column in ("dep_delay", "arr_delay"):
        assert abs(scaled[column].mean() - real_day[column].mean()) < 1.0
        assert abs(scaled[column].std() - real_day[column].std()) < 0.05 * real_day[column].std()
    hours = _shares(scaled, "hour")
    real_hours = _shares(real_day, "hour")
    assert sum(abs(hours.get(h, 0) - real_hours.get(h, 0)) for h in hours | real_hours) / 2 < 0.05
    late = (pl.col("arr_delay") > 15).mean()
    assert abs(scaled.select(late).item() - real_day.select(late).item()) < 0.02


def test_copies_move_times_consistently(real_day, scaled):
    copy = scaled.slice(real_day.height, real_day.height)
    assert (copy["flight"] == real_day["flight"] + scaleout.FLIGHT_NUMBER_STRIDE).all()
    assert (copy["hour"] * 100 + copy["minute"] == copy["sched_dep_time"]).all()
    minutes = (pl.col("sched_dep_time") // 100) * 60 + pl.col("sched_dep_time") % 100
    moved = (copy.select(minutes) - real_day.select(minutes)).to_series()
    assert moved.abs().max() <= scaleout.SHIFT_MINUTES and moved.abs().max() > 0


def test_rejects_more_than_one_day_and_bad_factors(real_day):
    with pytest.raises(ValueError, match="one day"):
        scaleout.scale_flights(sources.read_table("flights").head(2000), 2)
    with pytest.raises(ValueError, match="factor"):
        scaleout.scale_flights(real_day, 0)
