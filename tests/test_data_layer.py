"""The data layer through Dagster with real dbt and a real DuckDB file, in a home of its own.

Builds 2013-01-01..02-10 (every flight) once; then re-runs a day, re-drops a bad file, plants leaks,
drives the landing sensor against it, and serves a day's flights through the online snapshot.
"""

import os
import shutil
import signal
import time
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg
import duckdb
import numpy as np
import polars as pl
import pytest
from starlette.testclient import TestClient

from ml_platform import lake, landing, leakage, online_snapshot, sources, warehouse
from ml_platform.features import FEATURES
from ml_platform.serving import batch
from ml_platform.serving.app import Endpoints, create_app
from ml_platform.serving.online import scheduled_request
from ml_platform.serving.scoring import ServedModel
from ml_platform.settings import Settings
from ml_platform.specs import SPECS
from ml_platform.training import TrainWindow, fit_candidate
from resources.dbt import PlatformDbtResource
from resources.storage import LakeResource, LandingResource, WarehouseResource

FIRST, LAST = date(2013, 1, 1), date(2013, 2, 10)
DAY = date(2013, 2, 5)
DAILY_KEYS = ["raw/flights", "raw/weather", "staging/flights", "staging/weather", "features/flight_features"]


@dataclass
class Platform:
    settings: Settings
    resources: dict

    def materialize(self, selection: list[str], **kwargs) -> dg.ExecuteInProcessResult:
        from orchestration.definitions import asset_checks, assets

        keys = [dg.AssetKey.from_user_string(k) for k in selection]
        return dg.materialize([*assets, *asset_checks], selection=keys, resources=self.resources,
                              instance=dg.DagsterInstance.ephemeral(), **kwargs)

    def day_rows(self, relation: str, column: str = "flight_date") -> pl.DataFrame:
        with duckdb.connect(str(self.settings.duckdb_path), read_only=True) as con:
            return con.sql(f"select * from {relation} where {column} = $day order by all", params={"day": DAY}).pl()


def _range(first: date, last: date) -> dict:
    return {"tags": {"dagster/asset_partition_range_start": first.isoformat(),
                     "dagster/asset_partition_range_end": last.isoformat()}}


@pytest.fixture(scope="module")
def platform(tmp_path_factory):
    from orchestration.definitions import resources

    home = tmp_path_factory.mktemp("data-home")
    settings = Settings(env="local", home=home, mlflow_tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    with pytest.MonkeyPatch.context() as env:
        for name, value in settings.subprocess_env().items():  # dbt reads the lake and DuckDB paths from env
            env.setenv(name, value)
        platform = Platform(settings, {
            **resources,
            "lake_store": LakeResource(root=str(settings.lake)),
            "landing_zone": LandingResource(root=str(settings.landing)),
            "warehouse": WarehouseResource(duckdb_path=str(settings.duckdb_path)),
            "dbt": PlatformDbtResource(project_dir=resources["dbt"].project_dir, target=resources["dbt"].target,
                                       dbt_executable=resources["dbt"].dbt_executable,
                                       target_root=str(settings.dbt_target_root)),
        })
        landing.land(settings.landing, FIRST, LAST)
        reference = ["raw/planes", "raw/airlines", "raw/airports", "staging/planes", "staging/airlines",
                     "staging/airports"]
        assert platform.materialize(reference).success
        platform.built = platform.materialize(DAILY_KEYS, **_range(FIRST, LAST))
        yield platform


def test_the_window_builds_and_every_check_passes(platform):
    result = platform.built
    assert result.success
    evaluations = {(e.asset_key.to_user_string(), e.check_name): e.passed for e in result.get_asset_check_evaluations()}
    assert evaluations[("raw/flights", "contract")] and evaluations[("raw/weather", "contract")]
    assert evaluations[("features/flight_features", "check_no_leakage")]
    assert all(evaluations.values()), [k for k, ok in evaluations.items() if not ok]
    source = sources.read_table("flights").filter(pl.date("year", "month", "day").is_between(FIRST, LAST)).height
    features = warehouse.read_features(platform.settings.duckdb_path, FIRST, LAST)
    assert features.height == source == features.get_column("flight_id").n_unique()
    assert (features.get_column("flight_date").min(), features.get_column("flight_date").max()) == (FIRST, LAST)
    per_day = dict(sources.read_table("flights").filter(pl.date("year", "month", "day").is_between(FIRST, LAST))
                   .group_by(day=pl.date("year", "month", "day").cast(pl.String)).len().iter_rows())
    for key in ("raw/flights", "staging/flights", "features/flight_features"):  # each partition counts its own day
        counts = {e.partition: e.materialization.metadata["dagster/row_count"].value
                  for e in result.get_asset_materialization_events() if e.asset_key.to_user_string() == key}
        assert counts == per_day, key


def test_materializing_a_day_twice_gives_the_same_rows(platform):
    before = {rel: platform.day_rows(rel) for rel in (warehouse.FEATURES_TABLE, "staging.stg_flights")}
    weather_before = platform.day_rows("staging.stg_weather", "weather_date")
    total_before = warehouse.read_features(platform.settings.duckdb_path).height
    for _ in range(2):
        result = platform.materialize(DAILY_KEYS, partition_key=DAY.isoformat())
        assert result.success
        counts = {e.asset_key.to_user_string(): e.materialization.metadata["dagster/row_count"].value
                  for e in result.get_asset_materialization_events()}
        assert counts["features/flight_features"] == before[warehouse.FEATURES_TABLE].height > 800
    for relation, rows in before.items():
        assert platform.day_rows(relation).equals(rows), relation
    assert platform.day_rows("staging.stg_weather", "weather_date").equals(weather_before)
    assert warehouse.read_features(platform.settings.duckdb_path).height == total_before


def test_dbt_runs_in_process_parses_once_and_compiles_each_window(platform, tmp_path):
    """One parse per process and target folder; each window compiles its own dates; DuckDB is released."""
    import subprocess

    from ml_platform import dbt_runner
    from resources.dbt import window_env

    dbt = platform.resources["dbt"]
    folders = _dbt_folders(dbt, tmp_path)
    compiled = tmp_path / "target" / "compiled" / "ml_platform" / "models" / "staging" / "stg_flights.sql"
    parsed = []
    with pytest.MonkeyPatch.context() as env:
        for day in (date(2013, 2, 6), date(2013, 2, 7)):
            for name, value in window_env(day, day).items():
                env.setenv(name, value)
            run = dbt_runner.invoke(["build", "--select", "stg_flights"], **folders)
            assert run.success, run.events
            assert f"'{day}'" in compiled.read_text()
            parsed.append(run.parsed)
            _write_from_another_process(platform.settings.duckdb_path)  # DuckDB's lock is free right after the run
        env.setenv("ML_PLATFORM_LAKE", str(tmp_path / "another-lake"))  # read at parse: the parse is stale
        parsed.append(dbt_runner.invoke(["ls", "--select", "stg_flights"], **folders).parsed)
    assert parsed == [True, False, True]
    assert {e["info"]["name"] for e in run.events} >= {"LogModelResult", "StatsLine"}
    # dbt --version is not run per invocation: the version dagster-dbt is told is the installed dbt-core's
    reported = subprocess.run([dbt.dbt_executable, "--version"], capture_output=True, text=True, check=True).stdout
    assert f"installed: {dbt._cli_version}" in reported


def _write_from_another_process(duckdb_path: Path) -> None:
    """Fails unless a writer in another process can take DuckDB's lock."""
    import subprocess
    import sys

    write = f"import duckdb; duckdb.connect({str(duckdb_path)!r}).execute('checkpoint')"
    subprocess.run([sys.executable, "-c", write], check=True)


def _dbt_folders(dbt: PlatformDbtResource, tmp_path: Path) -> dict:
    from resources.dbt import WINDOW_ENV

    return {"project_dir": Path(dbt.project_dir), "profiles_dir": Path(dbt.profiles_dir or dbt.project_dir),
            "target_path": tmp_path / "target", "profile_args": ["--target", dbt.target], "per_run_env": WINDOW_ENV}


def test_an_interrupted_dbt_run_is_an_interrupt_and_leaves_duckdb_whole_and_free(platform, tmp_path):
    """A cancelled run (Dagster interrupts the step) stops dbt, is not reported as a dbt error, loses nothing."""
    import _thread
    import threading

    from ml_platform import dbt_runner
    from resources.dbt import window_env

    folders = _dbt_folders(platform.resources["dbt"], tmp_path)
    rows = warehouse.read_features(platform.settings.duckdb_path).height
    assert dbt_runner.invoke(["ls"], **folders).parsed  # the parse is done: the interrupt lands in the build
    returned = False
    # an interrupt raises, as under Dagster's own handler, even in a suite started in the background (SIGINT ignored)
    handler = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        with pytest.MonkeyPatch.context() as env:
            for name, value in window_env(FIRST, LAST).items():
                env.setenv(name, value)
            with pytest.raises(KeyboardInterrupt):
                threading.Timer(0.3, _thread.interrupt_main).start()
                dbt_runner.invoke(["build", "--select", "tag:daily"], **folders)
                returned = True
                time.sleep(5)
    finally:
        signal.signal(signal.SIGINT, handler)
    assert not returned
    _write_from_another_process(platform.settings.duckdb_path)
    assert warehouse.read_features(platform.settings.duckdb_path).height == rows
    assert dbt_runner.invoke(["build", "--select", "tag:daily"], **folders).success
    assert warehouse.read_features(platform.settings.duckdb_path).height == rows


def test_a_dbt_error_fails_the_step_with_dbts_message_and_a_rerun_recovers(platform):
    """Another process holding DuckDB's write lock: dbt's own error is the step's failure; nothing is lost."""
    import subprocess
    import sys

    hold = "import duckdb, sys, time; c = duckdb.connect(sys.argv[1]); print('locked', flush=True); time.sleep(120)"
    holder = subprocess.Popen([sys.executable, "-c", hold, str(platform.settings.duckdb_path)],
                              stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "locked"
        failed = platform.materialize(["staging/airlines"], raise_on_error=False)
    finally:
        holder.kill()
        holder.wait()
    assert not failed.success
    message = failed.get_step_failure_events()[0].step_failure_data.error.message
    assert "dbt" in message and "lock" in message.lower(), message
    assert platform.materialize(["staging/airlines"]).success
    assert platform.day_rows(warehouse.FEATURES_TABLE).height > 800


def test_a_bad_redrop_is_quarantined_blocks_downstream_and_keeps_the_stored_day(platform):
    settings = platform.settings
    stored = lake.partition_path(settings.lake, "raw", "flights", DAY)
    stored_bytes, features_before = stored.read_bytes(), platform.day_rows(warehouse.FEATURES_TABLE)
    landed = landing.landing_path(settings.landing, "flights", DAY)
    good = landed.read_bytes()
    frame = landing.read_landed(landed)
    lake.write_atomic(frame.with_columns(pl.when(pl.int_range(pl.len()) == 0).then(-1).otherwise(pl.col("distance"))
                                         .alias("distance")), landed)
    try:
        result = platform.materialize(DAILY_KEYS, partition_key=DAY.isoformat(), raise_on_error=False)
        assert not result.success
        [contract] = [e for e in result.get_asset_check_evaluations()
                      if e.asset_key == dg.AssetKey(["raw", "flights"]) and e.check_name == "contract"]
        assert not contract.passed and "1 rows with distance < 1" in contract.description
        built = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
        assert not built & {"staging/flights", "features/flight_features"}  # blocked: dbt never ran
        assert stored.read_bytes() == stored_bytes
        assert platform.day_rows(warehouse.FEATURES_TABLE).equals(features_before)
        reason = landing.quarantine_path(settings.landing, "flights", DAY).with_suffix(".reason.txt")
        assert "distance < 1" in reason.read_text() and not landed.exists()
    finally:
        landed.write_bytes(good)  # the source sends the day again, correctly


def _warehouse_copy(platform, tmp_path) -> Path:
    copy = tmp_path / "warehouse.duckdb"
    shutil.copy(platform.settings.duckdb_path, copy)
    return copy


def test_leakage_check_passes_on_the_real_features(platform):
    report = leakage.check(platform.settings.duckdb_path, FIRST, LAST, days=[date(2013, 1, 2), DAY, LAST])
    assert report.passed, report.message()
    assert max(report.auc.values()) < 0.7 and "carrier_delay_rate_7d" in report.auc


def test_leakage_check_fails_on_a_window_that_includes_the_day_itself(platform, tmp_path):
    copy = _warehouse_copy(platform, tmp_path)
    with duckdb.connect(str(copy)) as con:  # the classic slip: `0 preceding` instead of `1 day preceding`
        con.execute(f"""
            update {leakage.FEATURES} f set carrier_delay_rate_7d = w.rate
            from (select carrier, avg(is_delayed::int)::double as rate from {leakage.FLIGHTS}
                  where flight_date between $day - interval 6 days and $day group by all) w
            where f.carrier = w.carrier and f.flight_date = $day""", {"day": DAY})
    report = leakage.check(copy, FIRST, LAST, days=[DAY])
    assert not report.passed and set(report.mismatches) == {"carrier_delay_rate_7d"}
    assert "carrier_delay_rate_7d differs from its point-in-time recompute" in report.message()


def test_leakage_check_fails_on_a_feature_that_is_the_label_in_disguise(platform, tmp_path):
    copy = _warehouse_copy(platform, tmp_path)
    with duckdb.connect(str(copy)) as con:  # e.g. the day's departure delay slipped into the features
        con.execute(f"alter table {leakage.FEATURES} add column minutes_late double")
        con.execute(f"""update {leakage.FEATURES} f set minutes_late = s.arr_delay
                        from {leakage.FLIGHTS} s where s.flight_id = f.flight_id""")
    report = leakage.check(copy, FIRST, LAST)
    assert not report.passed and set(report.proxies) == {"minutes_late"}
    assert report.mismatches == {}
    assert "minutes_late alone predicts is_delayed with AUC" in report.message()


def test_online_lookup_serves_exactly_the_offline_features_and_predictions(platform):
    """No train/serve skew: a day's real flights, sent as known at schedule time and joined with the
    snapshot, get the stored dbt features of that day and the batch path's P(delay)."""
    path = platform.settings.duckdb_path
    online = online_snapshot.build(path, DAY)
    stored = warehouse.read_features(path, DAY, DAY)
    requests = [scheduled_request(r, online) for r in warehouse.read_schedule(path, DAY, DAY).iter_rows(named=True)]
    assert len(requests) == stored.height > 800
    looked_up = pl.DataFrame([online.feature_row({**r, "date": DAY}) for r in requests], infer_schema_length=None)
    for feature in FEATURES:
        ours, theirs = looked_up.get_column(feature.name), stored.get_column(feature.name)
        assert ours.is_null().to_list() == theirs.is_null().to_list(), feature.name
        if feature.kind == "categorical":
            assert ours.to_list() == theirs.to_list(), feature.name
        else:
            np.testing.assert_allclose(ours.cast(pl.Float64).to_numpy(), theirs.cast(pl.Float64).to_numpy(),
                                       rtol=1e-12, err_msg=feature.name)
    assert looked_up.get_column("route_delay_rate_28d").is_not_null().mean() > 0.9  # history was found

    window = TrainWindow(FIRST, date(2013, 1, 31), date(2013, 2, 1), LAST)
    trained = fit_candidate(SPECS["lightgbm"], *window.split(warehouse.read_features(path, FIRST, LAST)),
                            params={"max_rounds": 60})
    model = ServedModel("flight_delay", "1", trained.predictor, trained.contract)
    offline = batch.score_frame(model, stored).get_column("probability").to_numpy()
    client = TestClient(create_app(Endpoints(model, online)))
    served = client.post("/predict_batch", json={"flights": requests})
    assert served.status_code == 200, served.text
    np.testing.assert_allclose([a["probability"] for a in served.json()], offline, rtol=0, atol=1e-6)
    single = [client.post("/predict", json={"flight": r}).json()["probability"] for r in requests[:100]]
    np.testing.assert_allclose(single, offline[:100], rtol=0, atol=1e-6)


def test_landing_sensor_requests_new_and_redropped_days_once_and_skips_stored_ones(platform, tmp_path):
    from orchestration.definitions import defs
    from sensors import ticks

    # its own landing zone over the built lake, so no other test's drops count: the built window's files,
    # older than the partitions stored from them
    zone = tmp_path / "landing"
    old = time.time() - 3600
    for landed in landing.land(zone, FIRST, LAST):
        os.utime(landed.path, (old, old))
    resources = {"landing_zone": LandingResource(root=str(zone)), "lake_store": platform.resources["lake_store"]}

    def tick(cursor=None):  # as Dagster's daemon has it evaluated: a request the daemon rejects fails here
        return ticks.evaluate(defs, "landing_sensor", cursor=cursor, resources=resources)

    settled = tick()
    assert settled.requests == []  # every file is older than its stored partition

    landing.land(zone, date(2013, 2, 11), date(2013, 2, 13))  # three new days
    first = tick(settled.cursor)
    [(job, request)] = first.requests  # consecutive days of both tables: one single-run range
    assert job == "daily_data_job" and request.tags["dagster/sensor_name"] == "landing_sensor"
    assert request.tags["dagster/asset_partition_range_start"] == "2013-02-11"
    assert request.tags["dagster/asset_partition_range_end"] == "2013-02-13"
    monitored = {"monitoring/feature_profile", "monitoring/live_performance"}  # every landed day is monitored too
    assert {k.to_user_string() for k in request.asset_selection} == set(DAILY_KEYS) | monitored

    again = tick(first.cursor)
    assert again.requests == []

    landing.land(zone, DAY, DAY)  # the source re-sends a stored day
    redrop = tick(first.cursor)
    [(_, request)] = redrop.requests
    assert request.partition_key == DAY.isoformat() and request.run_key != first.requests[0][1].run_key
