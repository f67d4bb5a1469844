from datetime import date

import polars as pl
import pytest

from ml_platform import lake, landing, sources

JAN = [date(2013, 1, d) for d in (1, 2, 3)]


def test_land_drops_one_file_per_day_per_table_with_the_source_rows(tmp_path):
    files = landing.land(tmp_path, JAN[0], JAN[-1])
    assert sorted((f.table, f.day) for f in files) == sorted((t, d) for t in landing.DAILY_TABLES for d in JAN)
    flights = sources.read_table("flights").filter(pl.date("year", "month", "day") == JAN[1])
    assert landing.read_landed(landing.landing_path(tmp_path, "flights", JAN[1])).equals(flights)
    assert [p.name for p in (tmp_path / "flights").iterdir() if p.name.startswith(".")] == []  # no temp files


def test_pending_sees_new_and_redropped_files_once(tmp_path):
    landing.land(tmp_path, JAN[0], JAN[-1])
    days, seen = landing.pending(landing.landed_files(tmp_path), {}, tmp_path / "lake")
    assert days == {d: {"flights", "weather"} for d in JAN}
    assert landing.pending(landing.landed_files(tmp_path), seen, tmp_path / "lake")[0] == {}
    landing.land(tmp_path, JAN[1], JAN[1])
    redropped, _ = landing.pending(landing.landed_files(tmp_path), seen, tmp_path / "lake")
    assert redropped == {JAN[1]: {"flights", "weather"}}


def test_files_older_than_their_stored_partition_are_not_pending(tmp_path):
    landing.land(tmp_path, JAN[0], JAN[1])
    lake.write_atomic(pl.DataFrame({"a": [1]}), lake.partition_path(tmp_path / "lake", "raw", "flights", JAN[0]))
    days, seen = landing.pending(landing.landed_files(tmp_path), {}, tmp_path / "lake")
    assert days == {JAN[0]: {"weather"}, JAN[1]: {"flights", "weather"}}
    assert set(seen) == {f"{t}/{d}" for t in landing.DAILY_TABLES for d in JAN[:2]}


def test_quarantined_and_oddly_named_files_are_not_pending(tmp_path):
    landing.land(tmp_path, JAN[0], JAN[0])
    landing.quarantine(tmp_path, "flights", JAN[0], ["bad"])
    (tmp_path / "weather" / "notes.csv").write_text("x\n")
    assert [(f.table, f.day) for f in landing.landed_files(tmp_path)] == [("weather", JAN[0])]


def test_contiguous_days_with_the_same_tables_merge_into_one_window():
    days = {JAN[0]: {"flights"}, JAN[1]: {"flights"}, JAN[2]: {"flights", "weather"}, date(2013, 1, 9): {"flights"}}
    assert landing.contiguous_runs(days) == [
        (JAN[0], JAN[1], {"flights"}), (JAN[2], JAN[2], {"flights", "weather"}),
        (date(2013, 1, 9), date(2013, 1, 9), {"flights"})]


def test_a_window_ending_before_it_starts_is_refused(tmp_path):
    with pytest.raises(ValueError, match="ends .* before it starts"):
        landing.land(tmp_path, JAN[1], JAN[0])
