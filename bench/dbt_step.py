"""One day's dbt step: the platform's in-process runner against stock dagster-dbt (a ``dbt`` subprocess).

In a fresh ML_PLATFORM_HOME: land 2013-01-01..08, build the reference tables and the first week through
the dagster CLI, then materialize only ``daily_dbt_models`` for 2013-01-08, several times, in one process
per variant:
- ``in_process``: the shipped asset (``PlatformDbtResource.build``, dbt through ``ml_platform.dbt_runner``,
  per-day row counts); its first run in a process parses the project, the later ones reuse the parse;
- ``stock``: ``DbtCliResource.cli(["build"], context=context).stream()``, the window in the environment;
- ``stock_row_counts``: the same plus ``.fetch_row_counts()`` (row counts, as ours attaches).
``BENCH_DBT_HOME=<home>`` reuses a home an earlier run built. Writes bench/results/dbt_step.json: each run's wall seconds, median and best. Numbers, no assertions.
"""


import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

from bench import common

DAY = date(2013, 1, 8)
RUNS = 4
VARIANTS = ("in_process", "stock", "stock_row_counts")


def _case(variant: str, runs: int) -> list[float]:
    """In this process (ML_PLATFORM_HOME already set): ``runs`` materializations of the day's dbt step."""
    import dagster as dg
    from dagster_dbt import DbtCliResource, dbt_assets

    from assets.dbt import DAILY, DUCKDB_POOL, LayerTranslator, daily_dbt_models, dbt_project
    from assets.partitions import daily_partitions, window_days
    from orchestration.definitions import resources, settings
    from resources.dbt import DBT_EXECUTABLE, window_env

    @dbt_assets(manifest=dbt_project.manifest_path, project=dbt_project, dagster_dbt_translator=LayerTranslator(),
                select=DAILY, partitions_def=daily_partitions, backfill_policy=dg.BackfillPolicy.single_run(),
                pool=DUCKDB_POOL, name="daily_dbt_models")
    def stock_daily(context: dg.AssetExecutionContext, dbt: DbtCliResource):
        first, last = window_days(context)
        os.environ.update(window_env(first, last))  # the dbt subprocess inherits the window
        invocation = dbt.cli(["build"], context=context).stream()
        yield from (invocation.fetch_row_counts() if variant == "stock_row_counts" else invocation)

    if variant == "in_process":
        asset, dbt = daily_dbt_models, resources["dbt"]
    else:
        asset = stock_daily
        dbt = DbtCliResource(project_dir=dbt_project, dbt_executable=DBT_EXECUTABLE, target=settings.dbt_target)
    seconds = []
    for _ in range(runs):
        started = time.perf_counter()
        result = dg.materialize([asset], partition_key=DAY.isoformat(), instance=dg.DagsterInstance.ephemeral(),
                                resources={"dbt": dbt, "warehouse": resources["warehouse"]})
        seconds.append(round(time.perf_counter() - started, 2))
        if not result.success:
            raise RuntimeError(f"{variant} failed")
    return seconds


def main() -> None:
    reuse = os.environ.get("BENCH_DBT_HOME")  # a home this script built before: skip the setup
    home = Path(reuse or tempfile.mkdtemp(prefix="bench-dbt-step-"))
    os.environ["ML_PLATFORM_HOME"] = str(home)
    env = dict(os.environ)

    from ml_platform.settings import get_settings
    from orchestration import cli

    settings = get_settings()
    if not reuse:
        cli.land(settings, date(2013, 1, 1), DAY)
        for selection, partition in ((cli.REFERENCE_ASSETS, None), (cli.DAILY_ASSETS, f"2013-01-01...{DAY}")):
            if cli.materialize(settings, selection, partition) != 0:
                raise RuntimeError(f"setup failed: {selection}")
    result: dict = {"machine": common.machine(), "day": DAY.isoformat(), "runs_per_process": RUNS, "variants": {}}
    for round_ in range(2):  # two processes per variant, interleaved: the host is shared and noisy
        for variant in VARIANTS:
            done = subprocess.run([sys.executable, "-m", "bench.dbt_step", "--case", variant], env=env,
                                  capture_output=True, text=True, check=False)
            result["variants"].setdefault(variant, {"first_in_process_s": [], "later_s": []})
            if done.returncode != 0:
                result["variants"][variant]["error"] = done.stderr[-2000:]
                print(variant, round_, "failed", flush=True)
                continue
            seconds = json.loads(done.stdout.strip().splitlines()[-1])
            result["variants"][variant]["first_in_process_s"].append(seconds[0])
            result["variants"][variant]["later_s"].extend(seconds[1:])
            print(variant, round_, seconds, flush=True)
    for numbers in result["variants"].values():
        if not numbers["later_s"]:
            continue
        every = numbers["first_in_process_s"] + numbers["later_s"]
        numbers.update(median_s=statistics.median(every), best_s=min(every),
                       later_median_s=statistics.median(numbers["later_s"]))
    out = common.RESULTS / "dbt_step.json"
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(json.dumps(result["variants"], indent=2))


if __name__ == "__main__":
    if sys.argv[1:2] == ["--case"]:
        print(json.dumps(_case(sys.argv[2], RUNS)))
    else:
        main()
