"""Run every benchmark in bench/ (each writes its own JSON into bench/results/)."""

import subprocess
import sys

from ml_platform import cli
from ml_platform.settings import get_settings

BENCHMARKS = ["bench.training", "bench.serving", "bench.deploy"]

if __name__ == "__main__":
    settings = get_settings()
    if not settings.duckdb_path.exists():  # benchmarks read the features: build them through Dagster first
        selection, _ = cli.demo_stages()[0]
        if cli.materialize(settings, selection) != 0:
            sys.exit("could not build the features the benchmarks read")
    for module in BENCHMARKS:
        print(f"== {module}", flush=True)
        subprocess.run([sys.executable, "-m", module], check=True)
