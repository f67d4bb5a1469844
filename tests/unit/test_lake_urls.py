"""The lake behind a URL: the same engine code on a local folder, a ``file://`` URL and an S3 bucket.

The S3 tests talk the S3 protocol over HTTP to moto's server (an S3 emulator started in this process,
not MinIO) through pyarrow's S3 filesystem, configured only by ``AWS_ENDPOINT_URL`` as a MinIO
deployment would be.
"""

from datetime import date

import boto3
import polars as pl
import pytest
from moto.server import ThreadedMotoServer

from ml_platform import ingest, lake, landing

BUCKET = "ml-platform"
DAYS = [date(2013, 1, 1), date(2013, 1, 2)]


@pytest.fixture(scope="module")
def s3():
    """An empty bucket on a local S3-protocol server; the AWS variables point every client at it."""
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    with pytest.MonkeyPatch.context() as env:
        for name, value in {"AWS_ENDPOINT_URL": f"http://{host}:{port}", "AWS_ACCESS_KEY_ID": "test",
                            "AWS_SECRET_ACCESS_KEY": "test", "AWS_REGION": "us-east-1"}.items():
            env.setenv(name, value)
        client = boto3.client("s3")
        client.create_bucket(Bucket=BUCKET)
        yield client
    server.stop()


def _keys(client, prefix: str) -> list[str]:
    return sorted(o["Key"] for o in client.list_objects_v2(Bucket=BUCKET, Prefix=prefix).get("Contents", []))


def test_root_keeps_urls_and_makes_folders_paths(tmp_path):
    assert lake.root("s3://bucket/lake/") == "s3://bucket/lake"
    assert lake.partition_path(lake.root("s3://bucket/lake"), "raw", "flights", DAYS[0]) == \
        "s3://bucket/lake/raw/flights/2013-01-01.parquet"
    assert lake.partition_path(lake.root(str(tmp_path)), "raw", "flights", DAYS[0]) == \
        tmp_path / "raw" / "flights" / "2013-01-01.parquet"


def test_file_url_and_folder_are_the_same_lake(tmp_path):
    frame = pl.DataFrame({"a": [1, 2, 3]})
    url = lake.write_atomic(frame, lake.join(lake.root(tmp_path.as_uri()), "raw", "t", "data.parquet"))
    local = tmp_path / "raw" / "t" / "data.parquet"
    assert lake.read(url).equals(frame) and pl.read_parquet(local).equals(frame)
    assert lake.num_rows(url) == 3 and lake.mtime_ns(url) == local.stat().st_mtime_ns
    assert [p.name for p in local.parent.iterdir()] == ["data.parquet"]  # renamed into place, no temp left


def test_ingest_stores_contract_checked_partitions_in_the_bucket(s3, tmp_path):
    root = lake.root(f"s3://{BUCKET}/lake")
    for table in ("airlines", "airports"):
        assert ingest.ingest_table(table, root).contract.passed
    landing.land(tmp_path, DAYS[0], DAYS[-1], sample_every=10)
    for _ in range(2):  # a re-run replaces each day's object
        outcome = ingest.ingest_days("flights", DAYS, tmp_path, root)
        assert outcome.passed and sorted(outcome.stored) == DAYS
    assert _keys(s3, "lake/raw/flights/") == [f"lake/raw/flights/{d}.parquet" for d in DAYS]
    stored = lake.read(lake.partition_path(root, "raw", "flights", DAYS[1]))
    assert stored.height == outcome.stored[DAYS[1]] == ingest.stored_rows(root, "flights", DAYS[1:])[0]
    assert lake.mtime_ns(lake.partition_path(root, "raw", "flights", date(2013, 2, 1))) is None


def test_failed_write_leaves_the_stored_object(s3):
    target = f"s3://{BUCKET}/fail/data.parquet"
    lake.write_atomic(pl.DataFrame({"a": [1]}), target)

    class Boom(pl.DataFrame):
        def write_parquet(self, *args, **kwargs):
            raise OSError("disk full")

    with pytest.raises(OSError, match="disk full"):
        lake.write_atomic(Boom({"a": [2]}), target)
    assert lake.read(target).get_column("a").to_list() == [1]
    assert _keys(s3, "fail/") == ["fail/data.parquet"]


def test_monitoring_keeps_the_same_records_in_the_bucket_as_in_a_folder(s3, tmp_path, feature_frame):
    """Profiles, drift, live metrics and decisions: one object each, read back as the local store reads them."""
    from ml_platform import monitoring
    from ml_platform.features import FEATURES
    from ml_platform.retraining import Decision

    names = [f.name for f in FEATURES]
    reference = feature_frame.filter(pl.col("flight_date") < date(2013, 1, 15))
    days = feature_frame.filter(pl.col("flight_date").is_between(date(2013, 2, 1), date(2013, 2, 9)))
    stores = {"s3": monitoring.MonitoringStore(f"s3://{BUCKET}/lake"), "local": monitoring.MonitoringStore(tmp_path)}
    seen = {}
    for name, store in stores.items():
        store.write_reference(monitoring.Reference("1", "lightgbm", date(2013, 1, 1), date(2013, 1, 14),
                                                   reference.height, 0.7),
                              monitoring.profile_scored(reference, None, names))
        records = monitoring.profile_days(store, days, None, names)
        store.write_predictions(date(2013, 2, 1), pl.DataFrame({"is_delayed": [0, 1, 1], "prediction": [.2, .7, .4]}))
        store.write_live(date(2013, 2, 1), "1", None, monitoring.trend(store, date(2013, 2, 1)), 3)
        store.record_decisions([Decision(date(2013, 2, 9), True, "temp drifted", {"temp": 0.7})], champion="1")
        seen[name] = (records, store.signals(), store.decisions(), store.reference_record())
    assert seen["s3"] == seen["local"]
    records, signals, decisions, reference_record = seen["s3"]
    assert len(records) == 9 and records[-1]["rows"] == days.filter(pl.col("flight_date") >= date(2013, 2, 3)).height
    assert signals[0].live_auc == 1.0 and decisions[0]["reason"] == "temp drifted" and reference_record.version == "1"
    assert _keys(s3, "lake/monitoring/decisions/") == ["lake/monitoring/decisions/2013-02-09.json"]
    assert len(_keys(s3, "lake/monitoring/profiles/")) == 9
