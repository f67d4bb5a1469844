"""Benchmark the data layer: full-year build through Dagster + dbt vs the same SQL straight in DuckDB.

In a fresh ML_PLATFORM_HOME: land the year, build the reference tables, then raw + staging + features for
2013-01-01..12-31 in one single-run backfill (the `make demo` path), then one day again. The dbt models'
compiled SQL is then run directly in DuckDB against the same lake, in this process, for the ratio.
Writes bench/results/data_build.json. Not a test: numbers, no assertions.
"""

from __future__ import annotations

import json
import logging
import os
import re
import resource
import subprocess
import sys
import tempfile
import time
from datetime import date, datetime
from pathlib import Path

import duckdb

from bench import common
from ml_platform.settings import DBT_PROJECT_DIR, Settings
from orchestration import cli

log = logging.getLogger("bench.data_build")

ONE_DAY = date(2013, 7, 1)
DBT = str(Path(sys.executable).parent / "dbt")
# dependency order; the reference models are views, the daily ones tables
MODELS = (("staging", "stg_planes", "view"), ("staging", "stg_airlines", "view"), ("staging", "stg_airports", "view"),
          ("staging", "stg_flights", "table"), ("staging", "stg_weather", "table"),
          ("features", "flight_features", "table"))


def _timed(fn, *args) -> float:
    started = time.perf_counter()
    code = fn(*args)
    if code not in (0, None):
        raise RuntimeError(f"{fn.__name__}{args[1:]} failed with exit code {code}")
    return round(time.perf_counter() - started, 2)


def _step_seconds(settings: Settings) -> dict[str, float]:
    """Per-step durations Dagster logged in the newest materialize log, and where the dbt step's time went."""
    newest = max((settings.home / "logs").glob("materialize-*.log"), key=lambda p: p.stat().st_mtime_ns)
    text = newest.read_text()
    stamps = {event: datetime.strptime(re.search(rf"^(\S+ \S+) .*daily_dbt_models - {event}", text, re.M)[1],
                                       "%Y-%m-%d %H:%M:%S")
              for event in ("STEP_START", "Running dbt command", "Finished dbt command", "STEP_SUCCESS")}
    breakdown = {
        "dbt_step_before_dbt_s": (stamps["Running dbt command"] - stamps["STEP_START"]).total_seconds(),
        "dbt_process_s": (stamps["Finished dbt command"] - stamps["Running dbt command"]).total_seconds(),
        "dbt_sql_and_tests_s": float(re.search(r"Finished running .*\(([0-9.]+)s\)", text)[1]),
        "dbt_step_after_dbt_s": (stamps["STEP_SUCCESS"] - stamps["Finished dbt command"]).total_seconds(),
    }
    steps = re.findall(r'Finished execution of step "([^"]+)" in (?:(\d+)m)?([0-9.]+)(ms|s)', newest.read_text())
    return {name: round(60 * int(minutes or 0) + float(value) / (1000 if unit == "ms" else 1), 2)
            for name, minutes, value, unit in steps} | breakdown


def _dbt(settings: Settings, *args: str) -> float:
    started = time.perf_counter()
    subprocess.run([DBT, *args, "--profiles-dir", "."], cwd=DBT_PROJECT_DIR, check=True, capture_output=True,
                   env={**os.environ, **settings.subprocess_env()})
    return round(time.perf_counter() - started, 2)


def direct_duckdb(settings: Settings, work: Path) -> dict[str, float]:
    """Compile the dbt models for the year and run their SQL directly in a fresh DuckDB file."""
    target = work / "dbt-target"
    compile_s = _dbt(settings, "compile", "--target-path", str(target))  # no window: the whole year
    compiled = target / "compiled" / "ml_platform" / "models"
    database = work / "direct" / settings.duckdb_path.name  # same catalog name as the compiled references
    database.parent.mkdir()
    started = time.perf_counter()
    with duckdb.connect(str(database)) as con:
        con.execute("set enable_progress_bar = false; create schema staging; create schema features")
        for schema, name, kind in MODELS:
            sql = (compiled / schema / f"{name}.sql").read_text()
            con.execute(f"create {kind} {schema}.{name} as {sql}")
        rows = con.execute("select count(*) from features.flight_features").fetchone()[0]
    return {"direct_sql_s": round(time.perf_counter() - started, 2), "direct_feature_rows": rows,
            "dbt_compile_s": compile_s}


def run(work: Path) -> dict:
    """Build everything under ``work`` (a fresh home) and measure it."""
    settings = Settings(env="local", home=work / "home", mlflow_tracking_uri=f"sqlite:///{work / 'mlflow.db'}")
    result: dict = {"land_year_s": _timed(cli.land, settings, *cli.YEAR)}
    reference, daily = cli.data_stages()
    result["reference_build_s"] = _timed(cli.materialize, settings, *reference)
    result["full_year_build_s"] = _timed(cli.materialize, settings, *daily)
    result["full_year_steps_s"] = _step_seconds(settings)
    result["one_day_build_s"] = _timed(cli.materialize, settings, cli.DAILY_ASSETS, ONE_DAY.isoformat())
    result["one_day_steps_s"] = _step_seconds(settings)
    result["dbt_startup_s"] = _dbt(settings, "ls", "--select", "tag:daily")  # load + parse, no SQL
    result.update(direct_duckdb(settings, work))
    dbt_step = result["full_year_steps_s"]["daily_dbt_models"]
    result["dbt_step_vs_direct_sql"] = round(dbt_step / result["direct_sql_s"], 2)
    result["dbt_step_minus_startup_vs_direct_sql"] = round((dbt_step - result["dbt_startup_s"]) / result["direct_sql_s"], 2)
    result["peak_rss_mib"] = {  # the largest child (the dagster run process, or dbt) and this process
        "children": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1),
        "self": round(common.peak_rss_mib(), 1),
    }
    result["lake_mb"] = round(sum(p.stat().st_size for p in (settings.lake).rglob("*.parquet")) / 2**20, 1)
    result["dbt_sql_vs_direct_sql"] = round(result["full_year_steps_s"]["dbt_sql_and_tests_s"] / result["direct_sql_s"], 2)
    result["notes"] = (
        "full_year_build_s: one `dagster asset materialize --partition-range` of raw + staging + features "
        "(process start, contract checks on 730 files, dbt build incl. 13 data tests, leakage check). "
        "direct_sql_s: the same compiled model SQL as CREATE TABLE/VIEW in a fresh DuckDB file, no tests. "
        "dbt_step_after_dbt_s is Dagster recording one materialization per partition per model (3 x 365) "
        "plus the row counts; dbt_process_s includes a full re-parse (new --vars defeat partial parsing). "
        "Machine shared with other jobs while measured."
    )
    result["versions"] = {"duckdb": duckdb.__version__}
    return result


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    with tempfile.TemporaryDirectory(prefix="bench-data-build-") as work:
        result = run(Path(work))
    path = common.write("data_build", result)
    log.info("wrote %s:\n%s", path, json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
