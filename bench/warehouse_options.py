"""Benchmark the warehouse options for cluster mode (no shared disk): which one dbt builds and steps read.

Options (targets in dbt_project/profiles.yml; the dbt project is the same for all three):

- ``local``    (C, today): one DuckDB file that dbt writes and readers open read-only; the lake a local folder.
- ``ducklake`` (A): DuckLake, catalog in PostgreSQL, data files on the object store; in-memory DuckDB everywhere.
- ``parquet``  (B): dbt-duckdb ``external`` models, one Parquet object per model and day on the object store;
  readers are in-memory DuckDBs with views over the objects.

A and B read the raw lake from the object store too (an S3-protocol server: moto's, on 127.0.0.1), as a
cluster would; C reads the local folder. PostgreSQL (Debian's) runs in a scratch folder on 127.0.0.1.
Both are started and stopped here.

Per option: the full-year ``dbt build`` from an empty warehouse (``--full-repeats`` times), one day's
``dbt build --select tag:daily`` (``--day-repeats``), a reader process alone, and a reader process looping
while a writer (one day's dbt build) runs: its attempts, failures, latencies and the row counts it saw for
the day being rebuilt. Every process: wall, CPU, peak RSS (wait4) and the host's steal over it.

    .venv/bin/python -m bench.warehouse_options [--home DIR] [--options local,ducklake,parquet]

``--home``: an ML_PLATFORM_HOME whose lake already has raw/* for 2013 (else it is built in a temp folder:
land + raw assets through Dagster, ~1 min). Results are merged into bench/results/warehouse_options.json by
(option, duckdb version), so runs on two DuckDB versions sit side by side. Not a test: numbers only.

DuckLake needs DuckDB's LTS line and its extensions as wheels (they exist for 1.4.4 only), in a separate venv
from the project's locked DuckDB: ``pip install duckdb==1.4.4 duckdb-ext-ducklake==1.4.4.20260205
duckdb-ext-postgres==1.4.4.20260205 duckdb-ext-httpfs==1.4.4.20260205`` (docs/warehouse.md).
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import logging
import os
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from contextlib import ExitStack, contextmanager
from datetime import date
from pathlib import Path
from typing import Any, Iterator

import duckdb

from bench import common
from ml_platform.settings import DBT_PROJECT_DIR, Settings

log = logging.getLogger("bench.warehouse_options")

OPTIONS = ("local", "ducklake", "parquet")
NEEDS_OBJECT_STORE = {"ducklake", "parquet"}
BUCKET = "ml-platform"
DBT = str(Path(sys.executable).parent / "dbt")
ONE_DAY = date(2013, 7, 1)
TRAINING_WINDOW = (date(2013, 1, 1), date(2013, 6, 30))  # what a candidate's training step reads
PG_BIN = next(iter(sorted(Path("/usr/lib/postgresql").glob("*/bin"), reverse=True)), None)
AWS = {"AWS_ACCESS_KEY_ID": "bench", "AWS_SECRET_ACCESS_KEY": "bench", "AWS_REGION": "us-east-1"}


def extension_dir() -> Path | None:
    """The extensions the duckdb-ext-* wheels carry (one folder per DuckDB version), if installed and matching."""
    spec = importlib.util.find_spec("duckdb_ext")
    if spec is None or not spec.submodule_search_locations:
        return None
    folder = Path(next(iter(spec.submodule_search_locations))) / "extensions"
    return folder if (folder / f"v{duckdb.__version__}").is_dir() else None


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- services -------------------------------------------------------------------------------------------

@contextmanager
def object_store(work: Path) -> Iterator[dict[str, Any]]:
    """moto's S3 server on 127.0.0.1 with an empty bucket; yields the env that points clients at it."""
    port = _free_port()
    logf = open(work / "moto.log", "w")
    proc = subprocess.Popen([str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
                            stdout=logf, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(url, timeout=1).close()
                break
            except OSError:
                time.sleep(0.1)
        env = {**AWS, "AWS_ENDPOINT_URL": url}
        import boto3
        boto3.client("s3", endpoint_url=url, aws_access_key_id=AWS["AWS_ACCESS_KEY_ID"],
                     aws_secret_access_key=AWS["AWS_SECRET_ACCESS_KEY"],
                     region_name=AWS["AWS_REGION"]).create_bucket(Bucket=BUCKET)
        yield {"env": env, "url": url, "pid": proc.pid}
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        logf.close()


def _as_postgres(args: list[str]) -> list[str]:
    """initdb refuses root: run PostgreSQL's tools as the postgres user then."""
    return ["runuser", "-u", "postgres", "--", *args] if os.geteuid() == 0 else args


@contextmanager
def postgres(work: Path) -> Iterator[dict[str, Any]]:
    """A throwaway PostgreSQL cluster on 127.0.0.1 (trust auth), stopped on exit."""
    if PG_BIN is None:
        raise RuntimeError("PostgreSQL not installed (apt-get install -y postgresql)")
    folder = Path(tempfile.mkdtemp(prefix="bench-pg-"))  # not under `work`: the postgres user must reach it
    if os.geteuid() == 0:
        shutil.chown(folder, "postgres")
    data, port = folder / "data", _free_port()
    subprocess.run(_as_postgres([str(PG_BIN / "initdb"), "-D", str(data), "-A", "trust", "-U", "postgres"]),
                   check=True, capture_output=True)
    subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-l", str(folder / "log"), "-w",
                                 "-o", f"-k {folder} -h 127.0.0.1 -p {port}", "start"]),
                   check=True, capture_output=True)
    try:
        yield {"port": port, "bin": PG_BIN}
    finally:
        subprocess.run(_as_postgres([str(PG_BIN / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"]),
                       check=False, capture_output=True)
        shutil.rmtree(folder, ignore_errors=True)


def create_database(pg: dict, name: str) -> str:
    """A new database for one DuckLake catalog; returns its libpq connection string."""
    subprocess.run([str(pg["bin"] / "psql"), "-h", "127.0.0.1", "-p", str(pg["port"]), "-U", "postgres", "-q",
                    "-c", f"create database {name}"], check=True, capture_output=True)
    return f"dbname={name} host=127.0.0.1 port={pg['port']} user=postgres"


def upload_lake(local_lake: Path, store: dict) -> str:
    """Copy the raw lake into the bucket; returns the lake's s3:// URL."""
    import pyarrow.fs as pafs

    s3 = pafs.S3FileSystem(access_key=AWS["AWS_ACCESS_KEY_ID"], secret_key=AWS["AWS_SECRET_ACCESS_KEY"],
                           region=AWS["AWS_REGION"], endpoint_override=store["url"], scheme="http")
    pafs.copy_files(str(local_lake / "raw"), f"{BUCKET}/lake/raw", source_filesystem=pafs.LocalFileSystem(),
                    destination_filesystem=s3, use_threads=True)
    return f"s3://{BUCKET}/lake"


def bucket_usage(store: dict, prefix: str) -> dict[str, float]:
    import boto3

    client = boto3.client("s3", endpoint_url=store["url"], aws_access_key_id=AWS["AWS_ACCESS_KEY_ID"],
                          aws_secret_access_key=AWS["AWS_SECRET_ACCESS_KEY"], region_name=AWS["AWS_REGION"])
    objects, size = 0, 0
    for page in client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=prefix):
        for o in page.get("Contents", []):
            objects, size = objects + 1, size + o["Size"]
    return {"objects": objects, "mb": round(size / 2**20, 2)}


# --- measured processes -----------------------------------------------------------------------------------

def measured(cmd: list[str], env: dict[str, str], log_path: Path, cwd: Path | None = None) -> dict[str, Any]:
    """Run one process to the end: wall, its own CPU and peak RSS (wait4), the host's steal over it."""
    steal, started = common.host_steal_s(), time.perf_counter()
    with open(log_path, "w") as out:
        proc = subprocess.Popen(cmd, env=env, cwd=cwd, stdout=out, stderr=subprocess.STDOUT)
        _, status, usage = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    return {"ok": proc.returncode == 0, "wall_s": round(time.perf_counter() - started, 2),
            "cpu_s": round(usage.ru_utime + usage.ru_stime, 1), "peak_rss_mib": round(usage.ru_maxrss / 1024, 1),
            "host_steal_s": round(common.host_steal_s() - steal, 1)}


def _clean(message: str) -> str:
    """An error message without the run's PIDs and temp paths, so equal errors compare equal."""
    return re.sub(r"/tmp/bench-warehouse-\w+", "<work>", re.sub(r"PID \d+", "PID <n>", message))


def summary(values: list[float]) -> dict[str, float | None]:
    return {"median": round(statistics.median(values), 2) if values else None,
            "best": round(min(values), 2) if values else None, "n": len(values)}


class Option:
    """One warehouse option: the env its dbt runs and its readers get, and a fresh empty warehouse per build."""

    def __init__(self, name: str, work: Path, settings: Settings, lake: str, store: dict | None, pg: dict | None):
        self.name, self.work, self.settings, self.lake, self.store, self.pg = name, work, settings, lake, store, pg
        self.target_path = work / f"dbt-target-{name}"
        self.builds = 0
        self.location: dict[str, str] = {}

    def fresh(self) -> None:
        """Point at a new, empty warehouse."""
        self.builds += 1
        n = self.builds
        if self.name == "local":
            self.location = {"ML_PLATFORM_DUCKDB": str(self.work / f"warehouse-{n}.duckdb")}
        elif self.name == "ducklake":
            self.location = {"ML_PLATFORM_DUCKLAKE_CATALOG": create_database(self.pg, f"ducklake_{n}"),
                             "ML_PLATFORM_WAREHOUSE_URL": f"s3://{BUCKET}/ducklake-{n}"}
        else:
            self.location = {"ML_PLATFORM_WAREHOUSE_URL": f"s3://{BUCKET}/parquet-{n}"}

    def env(self, window: tuple[date, date] | None = None) -> dict[str, str]:
        env = {**os.environ, **self.settings.subprocess_env(), "ML_PLATFORM_DBT_TARGET": self.name,
               "ML_PLATFORM_LAKE": self.lake, **self.location}
        for name in ("ML_PLATFORM_WINDOW_START", "ML_PLATFORM_WINDOW_END"):
            env.pop(name, None)
        if window:
            env |= {"ML_PLATFORM_WINDOW_START": window[0].isoformat(), "ML_PLATFORM_WINDOW_END": window[1].isoformat()}
        if self.store:
            env |= self.store["env"]
        ext = extension_dir()
        if ext:
            env["ML_PLATFORM_DUCKDB_EXTENSIONS"] = str(ext)
        return env

    def dbt(self, label: str, *args: str, window: tuple[date, date] | None = None, check: bool = True
            ) -> dict[str, Any]:
        cmd = [DBT, *args, "--profiles-dir", ".", "--target-path", str(self.target_path),
               "--log-path", str(self.work / "dbt-logs")]
        results_file = self.target_path / "run_results.json"
        results_file.unlink(missing_ok=True)
        result = measured(cmd, self.env(window), self.work / f"{self.name}-{label}.log", cwd=DBT_PROJECT_DIR)
        if results_file.exists():  # where dbt's time went: each model, the tests together, dbt's own total
            done = json.loads(results_file.read_text())
            nodes = {r["unique_id"]: r["execution_time"] for r in done["results"]}
            result["dbt_s"] = {"elapsed": round(done["elapsed_time"], 2),
                               "tests": round(sum(t for k, t in nodes.items() if k.startswith("test.")), 2),
                               **{k.rsplit(".", 1)[1]: round(t, 2) for k, t in nodes.items() if k.startswith("model.")}}
        if not result["ok"]:
            text = (self.work / f"{self.name}-{label}.log").read_text()
            if check:
                raise RuntimeError(f"{self.name}: dbt {' '.join(args)} failed:\n{text[-3000:]}")
            errors = [line.strip() for line in text.splitlines() if "Error" in line and "Traceback" not in line]
            result["error"] = _clean(errors[-1] if errors else text.strip().splitlines()[-1])[:300]
        return result

    def reader_spec(self) -> dict[str, Any]:
        env = self.env()
        return {"option": self.name, "duckdb": env.get("ML_PLATFORM_DUCKDB"),
                "catalog": env.get("ML_PLATFORM_DUCKLAKE_CATALOG"), "warehouse": env.get("ML_PLATFORM_WAREHOUSE_URL"),
                "extensions": env.get("ML_PLATFORM_DUCKDB_EXTENSIONS"),
                "s3": self.store["url"] if self.store else None}

    def size(self) -> dict[str, float]:
        if self.name == "local":
            return {"file_mb": round(Path(self.location["ML_PLATFORM_DUCKDB"]).stat().st_size / 2**20, 2)}
        return bucket_usage(self.store, self.location["ML_PLATFORM_WAREHOUSE_URL"].split(f"{BUCKET}/", 1)[1] + "/")


def run_reader(option: Option, label: str, *, iterations: int = 0, until: Path | None = None
               ) -> subprocess.Popen | dict[str, Any]:
    """A reader process; with ``until`` it is started and returned (it loops until that file exists)."""
    spec = option.reader_spec() | {"iterations": iterations, "until": str(until) if until else None}
    cmd = [sys.executable, "-m", "bench.warehouse_options", "--reader", json.dumps(spec)]
    out = option.work / f"{option.name}-{label}.json"
    if until:
        with open(out, "w") as sink:  # the child keeps its own descriptor
            return subprocess.Popen(cmd, env=option.env(), stdout=sink, stderr=subprocess.DEVNULL)
    result = measured(cmd, option.env(), out)
    return {**json.loads(out.read_text().strip().splitlines()[-1]), **result}


def reader_under_writer(option: Option, rounds: int) -> list[dict[str, Any]]:
    """A reader looping for as long as a writer (one day's dbt build) runs: does it fail, block, see half a day?"""
    results = []
    for n in range(rounds):
        stop = option.work / f"stop-{option.name}-{n}"
        reader = run_reader(option, f"concurrent-{n}", until=stop)
        time.sleep(1.0)  # the reader is connected and reading before the writer starts
        writer = option.dbt(f"writer-{n}", "build", "--select", "tag:daily", window=(ONE_DAY, ONE_DAY), check=False)
        stop.touch()
        _, status, usage = os.wait4(reader.pid, 0)
        got = json.loads((option.work / f"{option.name}-concurrent-{n}.json").read_text().strip().splitlines()[-1])
        results.append({"writer": writer, "reader": got | {"peak_rss_mib": round(usage.ru_maxrss / 1024, 1)}})
    return results


def measure_option(option: Option, full_repeats: int, day_repeats: int, rounds: int) -> dict[str, Any]:
    probe = common.host_probe_ms()
    steal = common.host_steal_s()
    full = []
    for n in range(full_repeats):
        option.fresh()
        full.append(option.dbt(f"full-{n}", "build"))  # no window: every day of 2013, plus the reference models
    size_after_full = option.size()
    day = [option.dbt(f"day-{n}", "build", "--select", "tag:daily", window=(ONE_DAY, ONE_DAY))
           for n in range(day_repeats)]
    alone = run_reader(option, "reader-alone", iterations=max(3, day_repeats))
    concurrent = reader_under_writer(option, rounds)
    attempts = [a for r in concurrent for a in r["reader"]["attempts"]]
    during = [a for a in attempts if a["during_writer"]]
    ok = [a for a in during if a["ok"]]
    return {
        "full_year_build": {"wall_s": summary([r["wall_s"] for r in full]), "runs": full},
        "one_day_build": {"wall_s": summary([r["wall_s"] for r in day]), "runs": day},
        "size_after_full_year": size_after_full,
        "size_after_day_builds": option.size(),
        "reader_alone": {"latency_s": summary([a["latency_s"] for a in alone["attempts"] if a["ok"]]),
                         "connect_s": summary([a["connect_s"] for a in alone["attempts"] if a["ok"]]),
                         "failures": sum(not a["ok"] for a in alone["attempts"]),
                         "peak_rss_mib": alone["peak_rss_mib"], "host_steal_s": alone["host_steal_s"]},
        "reader_under_writer": {
            "rounds": rounds,
            "attempts_during_writer": len(during),
            "failed_during_writer": len(during) - len(ok),
            "errors": sorted({a["error"] for a in during if not a["ok"]}),
            "latency_s": summary([a["latency_s"] for a in ok]),
            "max_latency_s": max((a["latency_s"] for a in ok), default=None),
            "rebuilt_day_rows_seen": sorted({tuple(a["day_rows"]) for a in ok if a.get("day_rows")}),
            "writer_wall_s": summary([r["writer"]["wall_s"] for r in concurrent]),
            "writer_failures": sum(not r["writer"]["ok"] for r in concurrent),
            "writer_errors": sorted({r["writer"]["error"] for r in concurrent if not r["writer"]["ok"]}),
            "reader_peak_rss_mib": max(r["reader"]["peak_rss_mib"] for r in concurrent),
            "runs": concurrent,
        },
        "host_steal_s": round(common.host_steal_s() - steal, 1),
        "host_probe_ms": [probe, common.host_probe_ms()],
    }


# --- the reader (a separate process) ---------------------------------------------------------------------

def _connect(spec: dict[str, Any]) -> duckdb.DuckDBPyConnection:
    """What a step pod would open: the DuckDB file read-only (C), or an in-memory DuckDB on the object store."""
    if spec["option"] == "local":
        return duckdb.connect(spec["duckdb"], read_only=True)
    con = duckdb.connect(config={"extension_directory": spec["extensions"], "autoinstall_known_extensions": False})
    for ext in ("httpfs", *(("postgres", "ducklake") if spec["option"] == "ducklake" else ())):
        con.load_extension(ext)
    host = spec["s3"].split("://", 1)[1]
    con.execute(f"create secret (type s3, key_id '{AWS['AWS_ACCESS_KEY_ID']}', secret '{AWS['AWS_SECRET_ACCESS_KEY']}', "
                f"region '{AWS['AWS_REGION']}', endpoint '{host}', use_ssl false, url_style 'path')")
    if spec["option"] == "ducklake":
        con.execute(f"attach 'ducklake:postgres:{spec['catalog']}' as lake (read_only)")
        con.execute("use lake")
        return con
    root = spec["warehouse"]
    con.execute("create schema staging; create schema features")
    for schema, table, daily in (("staging", "stg_flights", True), ("staging", "stg_weather", True),
                                 ("staging", "stg_planes", False), ("features", "flight_features", True)):
        # the read location dbt-duckdb's external materialization uses (hive-partitioned by day, or one object)
        where = f"{root}/{table}/*/*.parquet" if daily else f"{root}/{table}.parquet"
        con.execute(f"create view {schema}.{table} as select * from read_parquet('{where}')")
    return con


def read_once(spec: dict[str, Any]) -> dict[str, Any]:
    """The steps' reads: a training window of features, the online snapshot's lookups for a day, and
    the per-day row counts (monitoring), including the day a writer may be rebuilding."""
    import polars as pl

    from ml_platform.leakage import AGGREGATES, WEATHER, WEATHER_AT_DEPARTURE
    from ml_platform.warehouse import FEATURES_TABLE, SCHEDULE_TABLE

    started = time.perf_counter()
    with _connect(spec) as con:
        connected = time.perf_counter()
        # warehouse._read's query; fetched through execute(), not con.sql(params=...).pl() as warehouse.py
        # does: on DuckDB 1.4.4 that relation path takes 5-6 s for this read, execute() 0.3-0.5 s (docs/warehouse.md)
        result = con.execute(f"select * from {FEATURES_TABLE} where flight_date >= ? and flight_date <= ? "
                             "order by flight_date, flight_id", list(TRAINING_WINDOW))
        features = pl.from_arrow(result.fetch_arrow_table() if hasattr(result, "fetch_arrow_table")
                                 else result.to_arrow_table())  # DuckDB 2.0 renamed it
        for aggregate in AGGREGATES:
            con.sql(aggregate.sql(), params={"day": ONE_DAY}).fetchall()
        con.sql(f"select origin, hour, {', '.join(WEATHER_AT_DEPARTURE)} from {WEATHER} where weather_date = $day",
                params={"day": ONE_DAY}).fetchall()
        con.sql("select tailnum, year($day) - plane_year, seats from staging.stg_planes", params={"day": ONE_DAY}).fetchall()
        day_rows = [con.execute(f"select count(*) from {table} where flight_date = ?", [ONE_DAY]).fetchone()[0]
                    for table in (SCHEDULE_TABLE, FEATURES_TABLE)]
    return {"rows": features.height, "day_rows": day_rows, "connect_s": round(connected - started, 3),
            "latency_s": round(time.perf_counter() - started, 3)}


def reader_main(spec: dict[str, Any]) -> None:
    attempts = []
    until = Path(spec["until"]) if spec.get("until") else None
    while (until is None and len(attempts) < spec["iterations"]) or (until is not None and not until.exists()):
        started = time.perf_counter()
        during = until is not None  # a looping reader runs while its writer does (it is stopped when the writer ends)
        try:
            attempts.append({"ok": True, "during_writer": during, **read_once(spec)})
        except Exception as e:  # noqa: BLE001 - a failed read is the measurement
            attempts.append({"ok": False, "during_writer": during, "error": _clean(f"{type(e).__name__}: {e}")[:200],
                             "latency_s": round(time.perf_counter() - started, 3)})
            time.sleep(0.2)
    common.emit({"attempts": attempts})


# --- the data --------------------------------------------------------------------------------------------

def build_raw(home: Path) -> None:
    """Land 2013 and build raw/* (reference tables first: the flights' contract checks carriers)."""
    from ml_platform import cli

    settings = Settings(env="local", home=home, mlflow_tracking_uri=f"sqlite:///{home / 'mlflow.db'}")
    cli.land(settings, *cli.YEAR)
    raw_reference = " or ".join(f'key:"raw/{t}"' for t in ("planes", "airlines", "airports"))
    for selection, partition in ((raw_reference, None), ('key:"raw/flights" or key:"raw/weather"', cli.YEAR_RANGE)):
        if cli.materialize(settings, selection, partition) != 0:
            raise RuntimeError(f"materialize {selection} failed")


def merge(results: dict[str, Any]) -> Path:
    """Keep earlier results of other (option, duckdb version) pairs; replace this run's."""
    path = common.RESULTS / "warehouse_options.json"
    runs = json.loads(path.read_text()).get("runs", []) if path.exists() else []
    mine = {(r["option"], r["duckdb"]) for r in results["runs"]}
    runs = [r for r in runs if (r["option"], r["duckdb"]) not in mine] + results["runs"]
    return common.write("warehouse_options", {**results, "runs": runs})


NOTES = (
    "Each build is a `dbt build` process (models and their data tests: 19 for the year, 13 for a day), without Dagster. "
    "full_year_build: from an empty warehouse, every model, no partition window (all of 2013). one_day_build: "
    "`--select tag:daily` with the window 2013-07-01 on top of the full year. reader: a separate process that "
    "connects as a step would, reads features for 2013-01..06 (training), the online snapshot's lookups for "
    "2013-07-01 and the day's row counts; reader_under_writer: the reader loops while a one-day build runs "
    "(started 1 s before it), rebuilt_day_rows_seen = [stg_flights, flight_features] rows of the rebuilt day "
    "the reader saw (a full day has the same count each time). local reads the lake from a folder; ducklake and "
    "parquet read it from moto's S3 server on 127.0.0.1 (Python, single process: slower than MinIO/S3). "
    "2 cores shared with other engineers' jobs: host_steal_s and host_probe_ms say how busy the host was."
)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--home", type=Path, help="an ML_PLATFORM_HOME with raw/* of 2013 in its lake")
    parser.add_argument("--options", default=",".join(OPTIONS))
    parser.add_argument("--full-repeats", type=int, default=2)
    parser.add_argument("--day-repeats", type=int, default=3)
    parser.add_argument("--rounds", type=int, default=3, help="reader-under-writer rounds")
    parser.add_argument("--reader", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reader:
        return reader_main(json.loads(args.reader))
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    options = [o for o in args.options.split(",") if o]
    runs = []
    with tempfile.TemporaryDirectory(prefix="bench-warehouse-") as tmp, ExitStack() as services:
        work = Path(tmp)
        home = args.home or work / "home"
        if not (home / "lake" / "raw" / "flights").is_dir():
            build_raw(home)
        settings = Settings(env="local", home=home, mlflow_tracking_uri=f"sqlite:///{work / 'mlflow.db'}")
        store = pg = None
        s3_lake = ""
        for name in options:
            if name in NEEDS_OBJECT_STORE and extension_dir() is None:
                runs.append({"option": name, "duckdb": duckdb.__version__, "skipped":
                             f"needs the duckdb-ext-* wheels for DuckDB {duckdb.__version__} (only 1.4.4 has them)"})
                continue
            if name in NEEDS_OBJECT_STORE and store is None:
                store = services.enter_context(object_store(work))
                started = time.perf_counter()
                s3_lake = upload_lake(home / "lake", store)
                log.info("lake uploaded to %s in %.1f s", s3_lake, time.perf_counter() - started)
            if name == "ducklake" and pg is None:
                pg = services.enter_context(postgres(work))
            lake = s3_lake if name in NEEDS_OBJECT_STORE else str(home / "lake")
            log.info("measuring %s (duckdb %s)", name, duckdb.__version__)
            try:
                result = measure_option(Option(name, work, settings, lake, store, pg), args.full_repeats,
                                        args.day_repeats, args.rounds)
            except Exception as e:  # noqa: BLE001 - an option that cannot build is a result too
                log.exception("%s failed", name)
                runs.append({"option": name, "duckdb": duckdb.__version__, "failed": _clean(str(e))[-1500:]})
                continue
            runs.append({"option": name, "duckdb": duckdb.__version__, "measured_at": time.strftime(
                "%Y-%m-%dT%H:%M:%SZ", time.gmtime()), **result})
            log.info("%s: full %s, day %s, reader under writer %s", name, result["full_year_build"]["wall_s"],
                     result["one_day_build"]["wall_s"], {k: v for k, v in result["reader_under_writer"].items()
                                                         if k not in ("runs",)})
    import dbt.adapters.duckdb.__version__ as dbt_duckdb_version  # noqa: PLC0415

    path = merge({"notes": NOTES, "versions": {"dbt-duckdb": dbt_duckdb_version.version}, "runs": runs})
    log.info("wrote %s", path)


if __name__ == "__main__":
    main()
