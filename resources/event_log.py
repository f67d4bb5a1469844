"""The local instance's event log: Dagster's run-sharded SQLite storage, with its connections kept open.

Not a resource: ``ml-platform`` names this class in ``$DAGSTER_HOME/dagster.yaml`` (``event_log_storage``).
The stock storage builds a new engine and opens a new connection for every write, and closing the
connection checkpoints the WAL. A year's replay stores about 8,000 events, several writes each: that was
a fifth of its wall time. Here each shard keeps one engine with a connection pool, so a write is an
insert and a commit; after each run-shard transaction a passive WAL checkpoint touches the shard's
``.db`` file, which is what the UI's live run view watches. Schema, files and queries stay Dagster's own:
a home written by either storage reads the same with the other.
"""

import threading
from collections import OrderedDict
from collections.abc import Iterator
from contextlib import contextmanager

import sqlalchemy as sa
from dagster._core.storage.event_log import SqliteEventLogStorage
from dagster._core.storage.event_log.sqlite.sqlite_event_log import INDEX_SHARD_NAME
from dagster._core.storage.sqlite import SQLITE_BUSY_TIMEOUT_SECONDS

OPEN_RUN_SHARDS = 4  # runs whose database stays open: the running ones and those the UI just read


class PooledSqliteEventLogStorage(SqliteEventLogStorage):
    """``SqliteEventLogStorage`` whose shards keep their engine and pooled connections between writes."""

    def __init__(self, base_dir: str, inst_data=None):
        self._engines: OrderedDict[str, sa.Engine] = OrderedDict()
        self._engines_lock = threading.Lock()
        super().__init__(base_dir, inst_data)

    @classmethod
    def from_config_value(cls, inst_data, config_value):
        return cls(inst_data=inst_data, **config_value)  # the parent builds its own class here

    def _engine(self, shard: str) -> sa.Engine:
        with self._engines_lock:
            engine = self._engines.get(shard)
            if engine is None:
                with super().run_connection(shard):  # the stock path creates and migrates the shard's file
                    pass
                engine = sa.create_engine(self.conn_string_for_shard(shard),
                                          connect_args={"timeout": SQLITE_BUSY_TIMEOUT_SECONDS})
                self._engines[shard] = engine
            self._engines.move_to_end(shard)
            if len(self._engines) > OPEN_RUN_SHARDS + 1:
                oldest = next(s for s in self._engines if s != INDEX_SHARD_NAME)
                self._engines.pop(oldest).dispose()  # a connection still checked out closes when returned
            return engine

    @contextmanager
    def _pooled(self, shard: str, checkpoint: bool) -> Iterator[sa.Connection]:
        with self._engine(shard).connect() as conn:
            with conn.begin():
                yield conn
            if checkpoint:
                conn.exec_driver_sql("PRAGMA wal_checkpoint(PASSIVE)")

    def run_connection(self, run_id: str | None = None):
        if run_id is None:
            return super().run_connection(run_id)  # the stock error for a missing run id
        return self._pooled(run_id, checkpoint=True)

    def index_connection(self):
        return self._pooled(INDEX_SHARD_NAME, checkpoint=False)

    def has_table(self, table_name: str) -> bool:
        with self.index_connection() as conn:
            return bool(conn.dialect.has_table(conn, table_name))

    def _dispose_engines(self) -> None:
        with self._engines_lock:
            while self._engines:
                self._engines.popitem()[1].dispose()

    def wipe(self) -> None:
        self._dispose_engines()  # before the run files are deleted under them
        super().wipe()

    def dispose(self) -> None:
        self._dispose_engines()
        super().dispose()
