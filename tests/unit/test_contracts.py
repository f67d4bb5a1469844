"""Raw contracts on good and corrupted landed files: a clear error, the file quarantined, nothing stored changed."""

import shutil
from datetime import date, timedelta
from pathlib import Path

import polars as pl
import pytest

from ml_platform import contracts, ingest, lake, landing

DAYS = [date(2013, 1, 1) + timedelta(days=n) for n in range(8)]
DAY = DAYS[-1]


@pytest.fixture(scope="module")
def stored_week(tmp_path_factory) -> Path:
    """A landing zone and a lake holding the reference tables and 2013-01-01..08 of flights and weather."""
    root = tmp_path_factory.mktemp("lake-week")
    for table in ("airlines", "airports"):
        assert ingest.ingest_table(table, root / "lake").contract.passed
    landing.land(root / "landing", DAYS[0], DAYS[-1])
    for table in landing.DAILY_TABLES:
        outcome = ingest.ingest_days(table, DAYS, root / "landing", root / "lake")
        assert outcome.passed and sorted(outcome.stored) == DAYS, outcome.summary()
    return root


@pytest.fixture
def home(stored_week, tmp_path) -> Path:
    shutil.copytree(stored_week, tmp_path / "home")
    return tmp_path / "home"


def _stored_bytes(lake_root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(lake_root)): p.read_bytes() for p in sorted(lake_root.rglob("*.parquet"))}


def _rewrite(path: Path, change) -> None:
    frame = landing.read_landed(path)
    lake.write_atomic(change(frame), path)


def _truncate(path: Path) -> None:
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


CORRUPTIONS = {
    "truncated file": (_truncate, "the file ends mid-line"),
    "wrong column type": (lambda p: _rewrite(p, lambda f: f.with_columns(
        pl.when(pl.int_range(pl.len()) == 3).then(pl.lit("ten past two")).otherwise(pl.col("dep_time").cast(pl.String))
        .alias("dep_time"))), "column 'dep_time' should be Int64, found String"),
    "negative distance": (lambda p: _rewrite(p, lambda f: f.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(-200).otherwise(pl.col("distance")).alias("distance"))),
        "1 rows with distance < 1"),
    "dep_time out of range": (lambda p: _rewrite(p, lambda f: f.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(2500).otherwise(pl.col("dep_time")).alias("dep_time"))),
        "1 rows with dep_time > 2400"),
    "unknown airport": (lambda p: _rewrite(p, lambda f: f.with_columns(
        pl.when(pl.int_range(pl.len()) == 0).then(pl.lit("XXX")).otherwise(pl.col("dest")).alias("dest"))),
        "unknown airports in 'dest': ['XXX']"),
    "unknown carrier": (lambda p: _rewrite(p, lambda f: f.with_columns(pl.lit("ZZ").alias("carrier"))),
                        "unknown carriers in 'carrier': ['ZZ']"),
    "duplicate rows": (lambda p: _rewrite(p, lambda f: pl.concat([f, f.head(3)])), "3 duplicate rows"),
    "empty file": (lambda p: p.write_bytes(b""), "unreadable file"),
    "header only": (lambda p: p.write_text(p.read_text().splitlines()[0] + "\n"), "the file holds no rows"),
    "missing column": (lambda p: _rewrite(p, lambda f: f.drop("carrier")), "missing columns ['carrier']"),
    "a day's rows missing": (lambda p: _rewrite(p, lambda f: f.head(50)), "50 rows, expected"),
    "rows of another day": (lambda p: _rewrite(p, lambda f: f.with_columns(pl.lit(9).alias("day"))),
                            "rows dated outside 2013-01-08"),
}


@pytest.mark.parametrize("corruption", list(CORRUPTIONS))
def test_a_corrupted_file_is_quarantined_with_its_reason_and_nothing_stored_changes(home, corruption):
    corrupt, expected = CORRUPTIONS[corruption]
    before = _stored_bytes(home / "lake")
    landed = landing.landing_path(home / "landing", "flights", DAY)
    corrupt(landed)

    outcome = ingest.ingest_days("flights", [DAY], home / "landing", home / "lake")

    assert not outcome.passed and outcome.stored == {}
    assert expected in " ".join(outcome.rejected[DAY]), outcome.rejected[DAY]
    assert expected in outcome.summary()
    quarantined = landing.quarantine_path(home / "landing", "flights", DAY)
    assert outcome.quarantined[DAY] == quarantined and quarantined.exists() and not landed.exists()
    reason = quarantined.with_suffix(".reason.txt").read_text()
    assert "flights 2013-01-08 quarantined" in reason and expected in reason
    assert _stored_bytes(home / "lake") == before  # byte-identical, the bad day's old partition included


def test_bad_weather_file_is_quarantined_too(home):
    landed = landing.landing_path(home / "landing", "weather", DAY)
    _rewrite(landed, lambda f: f.with_columns(pl.lit(140.0).alias("humid")))
    outcome = ingest.ingest_days("weather", [DAY], home / "landing", home / "lake")
    assert "rows with humid > 100" in outcome.summary()
    assert landing.quarantine_path(home / "landing", "weather", DAY).exists()


def test_a_good_file_is_stored_in_the_contract_types_and_a_redrop_replaces_it(home):
    landed = landing.landing_path(home / "landing", "flights", DAY)
    _rewrite(landed, lambda f: f.head(700))  # the source corrects the day: fewer flights
    outcome = ingest.ingest_days("flights", [DAY], home / "landing", home / "lake")
    assert outcome.passed and outcome.stored == {DAY: 700}
    stored = pl.read_parquet(lake.partition_path(home / "lake", "raw", "flights", DAY))
    assert stored.height == 700
    assert dict(stored.schema) == {c.name: c.dtype for c in contracts.CONTRACTS["flights"].columns}
    assert len(list((home / "lake" / "raw" / "flights").iterdir())) == len(DAYS)  # replaced, not added


def test_a_day_without_a_file_changes_nothing_and_is_reported(home):
    before = _stored_bytes(home / "lake")
    landing.landing_path(home / "landing", "weather", DAY).unlink()
    outcome = ingest.ingest_days("weather", [DAY], home / "landing", home / "lake")
    assert outcome.passed and outcome.missing == [DAY] and "no file for 2013-01-08" in outcome.summary()
    assert _stored_bytes(home / "lake") == before


def test_reference_table_breaking_its_contract_is_not_stored():
    airlines = pl.DataFrame({"carrier": ["AA", "AA", None], "name": ["a", "b", "c"]})
    result = contracts.validate(airlines, contracts.CONTRACTS["airlines"])
    assert not result.passed
    assert result.violations == ["1 null values in non-nullable column 'carrier'", "1 duplicate rows on key ['carrier']"]
    assert result.message().startswith("airlines: 1 null values")


def test_integers_widen_to_float_and_all_missing_columns_take_the_contract_type():
    airports = pl.DataFrame({"faa": ["JFK"], "name": ["x"], "lat": [40], "lon": [-73], "alt": [13], "tz": [-5],
                             "dst": ["A"], "tzone": [None]}, schema_overrides={"tzone": pl.String})
    result = contracts.validate(airports, contracts.CONTRACTS["airports"])
    assert result.passed, result.violations
    assert result.frame.schema["lat"] == pl.Float64


def test_expected_rows_is_the_median_of_the_stored_days():
    assert contracts.expected_rows([]) is None
    assert contracts.expected_rows([800, 900, 1000]) == 900
