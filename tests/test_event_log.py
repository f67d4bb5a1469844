"""The local event log: what it writes is Dagster's own store, read the same by the stock storage and the UI."""

import logging
import os
import threading
import time
from pathlib import Path

import dagster as dg
import pytest
from dagster._core.storage.event_log import SqliteEventLogStorage

from ml_platform.settings import Settings
from orchestration.instance import dagster_environment
from resources.event_log import OPEN_RUN_SHARDS, PooledSqliteEventLogStorage

DAYS = dg.DailyPartitionsDefinition(start_date="2013-01-01", end_date="2013-01-08")


@dg.asset(partitions_def=DAYS)
def numbers(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
    return dg.MaterializeResult(metadata={"dagster/row_count": len(context.partition_keys)})


@dg.asset_check(asset=numbers, blocking=True)
def numbers_are_counted() -> dg.AssetCheckResult:
    return dg.AssetCheckResult(passed=True)


def _entry(run_id: str, message: str) -> dg.EventLogEntry:
    return dg.EventLogEntry(error_info=None, level=logging.INFO, user_message=message, run_id=run_id,
                            timestamp=time.time(), step_key=None, job_name="job", dagster_event=None)


@pytest.fixture
def home(tmp_path) -> Path:
    settings = Settings(env="local", home=tmp_path, mlflow_tracking_uri="")
    dagster_environment(settings)  # writes $DAGSTER_HOME/dagster.yaml as every ml-platform command does
    return settings.dagster_home


def _history(storage) -> list:
    check = dg.AssetCheckKey(dg.AssetKey("numbers"), "numbers_are_counted")
    return [(r.partition, r.status) for r in storage.get_asset_check_execution_history(check, limit=20)]


def test_the_home_runs_on_the_pooled_storage_and_stores_what_dagsters_own_storage_stores(home, tmp_path):
    pooled = dg.DagsterInstance.from_config(str(home))
    (tmp_path / "stock").mkdir()
    stock = dg.DagsterInstance.local_temp(tempdir=str(tmp_path / "stock"))  # Dagster's default sqlite instance
    assert isinstance(pooled.event_log_storage, PooledSqliteEventLogStorage)
    assert type(stock.event_log_storage) is SqliteEventLogStorage
    for instance in (pooled, stock):
        for day in (1, 2, 3):
            assert dg.materialize([numbers, numbers_are_counted], instance=instance, partition_key=f"2013-01-0{day}").success

    # the pooled home's files, read back by Dagster's own storage, hold what the stock instance holds
    reread = SqliteEventLogStorage(str(home / "history" / "runs"))
    kinds = [[e.dagster_event_type for e in storage.get_logs_for_run(run.run_id)]
             for storage, instance in ((reread, pooled), (stock.event_log_storage, stock))
             for run in instance.get_runs()]
    assert kinds[:3] == kinds[3:] and dg.DagsterEventType.ASSET_MATERIALIZATION in kinds[0]
    assert reread.get_materialized_partitions(dg.AssetKey("numbers")) == {"2013-01-01", "2013-01-02", "2013-01-03"}
    assert _history(reread) == _history(stock.event_log_storage) and len(_history(reread)) >= 3


def test_a_watching_reader_sees_each_event_as_it_is_stored(home):
    """The UI's live run view watches the run's .db file; pooled writes must still touch it."""
    base_dir = str(home / "history" / "runs")
    writer, reader = PooledSqliteEventLogStorage(base_dir), SqliteEventLogStorage(base_dir)
    writer.store_event(_entry("run-a", "first"))  # the run's file exists before the UI watches it
    seen, arrived = [], threading.Event()

    def callback(entry, cursor):
        seen.append(entry.user_message)
        arrived.set()

    reader.watch("run-a", None, callback)
    try:
        for message in ("second", "third"):
            arrived.clear()
            writer.store_event(_entry("run-a", message))
            assert arrived.wait(10), f"the watcher never saw {message!r}: the .db file was not touched"
            assert seen[-1] == message
    finally:
        reader.end_watch("run-a", callback)
        reader.dispose()


def test_more_runs_than_open_shards_keep_every_event_and_a_bounded_number_of_open_files(home):
    storage = PooledSqliteEventLogStorage(str(home / "history" / "runs"))
    runs = [f"run-{n}" for n in range(OPEN_RUN_SHARDS + 4)]
    for message in ("one", "two"):
        for run in runs:
            storage.store_event(_entry(run, message))
    open_files = {os.path.realpath(f"/proc/self/fd/{fd}") for fd in os.listdir("/proc/self/fd")
                  if os.path.exists(f"/proc/self/fd/{fd}")}
    open_runs = {Path(p).stem for p in open_files if p.endswith(".db") and Path(p).stem in runs}
    assert 0 < len(open_runs) <= OPEN_RUN_SHARDS
    for run in runs:
        assert [e.user_message for e in storage.get_logs_for_run(run)] == ["one", "two"]

    storage.wipe()
    assert storage.get_logs_for_run(runs[0]) == []
    storage.store_event(_entry(runs[0], "after wipe"))  # a wiped run's file is made again
    assert [e.user_message for e in storage.get_logs_for_run(runs[0])] == ["after wipe"]


def test_the_dagster_internals_the_pooled_storage_builds_on_are_still_there():
    """Guard for resources/event_log.py (docs/upgrading.md): fails when the locked Dagster moves what it relies on.

    It subclasses ``dagster._core``'s SQLite event log (not exported by ``dagster``), overrides the methods below
    with these signatures, and relies on every read and write of the stock storage going through
    ``run_connection`` / ``index_connection``.
    """
    import inspect

    from dagster._core.storage.event_log.sqlite import sqlite_event_log
    from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS

    assert PooledSqliteEventLogStorage.__bases__ == (SqliteEventLogStorage,)
    overridden = {"__init__": ["self", "base_dir", "inst_data"], "from_config_value": ["inst_data", "config_value"],
                  "run_connection": ["self", "run_id"], "index_connection": ["self"],
                  "has_table": ["self", "table_name"], "wipe": ["self"], "dispose": ["self"],
                  "conn_string_for_shard": ["self", "shard_name"]}  # the last one is called, not overridden
    for name, parameters in overridden.items():
        assert list(inspect.signature(getattr(SqliteEventLogStorage, name)).parameters) == parameters, name
    source = inspect.getsource(SqliteEventLogStorage)
    assert "self.run_connection(" in source and "self.index_connection(" in source
    assert sqlite_event_log.INDEX_SHARD_NAME == "index" and SQLITE_BUSY_TIMEOUT_SECONDS > 0
