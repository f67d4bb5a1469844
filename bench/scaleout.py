"""Benchmark how the daily pipeline's cost grows with a day's size: 1x, 10x, 100x the flights of one day.

In one fresh ML_PLATFORM_HOME: the reference tables once; then per factor, the day and the 7 days before
it are landed at that factor (``ml_platform.scaleout``, so the contract's row-count history matches) and
the 7 history days are built (setup, not timed: the features read the days before); then the day's
raw + staging + features is built in one `dagster asset materialize` run — the path a sensor-triggered
daily run takes — in a fresh interpreter, so its peak memory (the dagster run and its dbt child) is its
own. Fits log(cost) = a + k log(rows): k = 1 is linear. Writes bench/results/scaleout.json.
"""

from __future__ import annotations

import argparse
import json
import logging
import resource
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import numpy as np
import polars as pl

from bench import common
from bench.data_build import _step_seconds
from ml_platform import lake, landing, scaleout, sources
from ml_platform.settings import Settings
from orchestration import cli

log = logging.getLogger("bench.scaleout")

DAY = date(2013, 7, 1)
HISTORY_DAYS = 7
FACTORS = (1, 10, 100)
BUDGET_MIB = 2048  # what one partition's step pod gets (deploy/k8s/executor.yaml)


def _settings(home: str) -> Settings:
    return Settings(env="local", home=Path(home), mlflow_tracking_uri=f"sqlite:///{home}/mlflow.db")


def land_scaled(settings: Settings, factor: int) -> int:
    """Land the day and its history at ``factor`` (weather as it is: it does not grow with traffic)."""
    flights = sources.read_table("flights").with_columns(_day=pl.date("year", "month", "day"))
    weather = sources.read_table("weather").with_columns(_day=pl.date("year", "month", "day"))
    rows = 0
    for offset in range(HISTORY_DAYS, -1, -1):
        day = DAY - timedelta(days=offset)
        scaled = scaleout.scale_flights(flights.filter(pl.col("_day") == day).drop("_day"), factor, seed=offset)
        lake.write_atomic(scaled, landing.landing_path(settings.landing, "flights", day))
        lake.write_atomic(weather.filter(pl.col("_day") == day).drop("_day"),
                          landing.landing_path(settings.landing, "weather", day))
        rows = scaled.height
    return rows


def _check(code: int, what: str) -> None:
    if code != 0:
        raise RuntimeError(f"{what} failed with exit code {code}")


def case_setup(home: str, factor: int) -> dict:
    settings = _settings(home)
    rows = land_scaled(settings, factor)
    first, last = DAY - timedelta(days=HISTORY_DAYS), DAY - timedelta(days=1)
    _check(cli.materialize(settings, cli.DAILY_ASSETS, f"{first}...{last}"), "history build")
    return {"day_rows": rows}


def case_day(home: str, factor: int) -> dict:
    settings = _settings(home)
    started = time.perf_counter()
    _check(cli.materialize(settings, cli.DAILY_ASSETS, DAY.isoformat()), "day build")
    wall = time.perf_counter() - started
    rows = lake.num_rows(lake.partition_path(settings.lake, "raw", "flights", DAY))
    steps = _step_seconds(settings)
    return {"factor": factor, "rows": rows, "wall_s": round(wall, 2), "rows_per_s": round(rows / wall),
            "steps_s": steps,
            "data_s": round(steps["raw__flights"] + steps["dbt_sql_and_tests_s"]
                            + steps["features__flight_features_check_no_leakage"], 2),
            "run_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024, 1)}


def exponent(rows: list[int], cost: list[float]) -> float:
    """Slope of log(cost) on log(rows): 1.0 is linear, below 1 a fixed cost still dominates."""
    return round(float(np.polyfit(np.log(rows), np.log(cost), 1)[0]), 3)


def summarize(cases: list[dict]) -> dict:
    rows = [c["rows"] for c in cases]
    marginal = np.polyfit(rows, [c["wall_s"] for c in cases], 1)
    return {
        "exponent_wall": exponent(rows, [c["wall_s"] for c in cases]),
        "exponent_data_steps": exponent(rows, [c["data_s"] for c in cases]),
        "exponent_dbt_sql": exponent(rows, [c["steps_s"]["dbt_sql_and_tests_s"] for c in cases]),
        "fixed_cost_s": round(float(marginal[1]), 2),
        "marginal_us_per_row": round(float(marginal[0]) * 1e6, 2),
        "peak_rss_mib_at_largest": cases[-1]["run_peak_rss_mib"],
        "within_partition_budget": cases[-1]["run_peak_rss_mib"] <= BUDGET_MIB,
    }


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    cases = []
    with tempfile.TemporaryDirectory(prefix="bench-scaleout-") as home:
        _check(cli.materialize(_settings(home), cli.REFERENCE_ASSETS), "reference build")
        for factor in FACTORS:
            setup = common.run_case("bench.scaleout", "setup", "--home", home, "--factor", str(factor))
            cases.append(common.run_case("bench.scaleout", "day", "--home", home, "--factor", str(factor))
                         | {"setup_s": setup["process_wall_s"]})
    result = {"day": DAY.isoformat(), "factors": list(FACTORS), "cases": cases, **summarize(cases),
              "budget_mib": BUDGET_MIB,
              "notes": ("One daily partition of raw + staging + features through `dagster asset materialize` "
                        "(in-process executor, dbt-duckdb), the day's 7 predecessors built beforehand at the same "
                        "factor. wall_s includes process start, definitions load and dbt start-up (the fixed "
                        "cost); data_s is contract check + dbt SQL/tests + leakage check. run_peak_rss_mib: the "
                        "largest process of the run (dagster or dbt). Machine shared with other jobs.")}
    path = common.write("scaleout", result)
    log.info("wrote %s:\n%s", path, json.dumps({k: v for k, v in result.items() if k != "cases"}, indent=2))


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--case", choices=["setup", "day"])
    parser.add_argument("--home")
    parser.add_argument("--factor", type=int)
    args = parser.parse_args()
    if args.case is None:
        main()
    else:
        common.emit((case_setup if args.case == "setup" else case_day)(args.home, args.factor))
