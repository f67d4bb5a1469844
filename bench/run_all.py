"""Run every benchmark in bench/ (each writes its own JSON into bench/results/)."""

import subprocess
import sys

from ml_platform.settings import get_settings
from orchestration import cli

BENCHMARKS = ["bench.data_build", "bench.scaleout", "bench.training", "bench.training_params", "bench.serving",
              "bench.deploy", "bench.replay"]

if __name__ == "__main__":
    settings = get_settings()
    if not settings.duckdb_path.exists():  # training and serving read the features: build them through Dagster
        cli.land(settings, *cli.YEAR)
        for selection, partition in cli.data_stages():
            if cli.materialize(settings, selection, partition) != 0:
                sys.exit("could not build the features the benchmarks read")
    for module in BENCHMARKS:
        print(f"== {module}", flush=True)
        subprocess.run([sys.executable, "-m", module], check=True)
