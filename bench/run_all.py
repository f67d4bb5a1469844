"""Run every benchmark in bench/ (each writes its own JSON into bench/results/)."""

import subprocess
import sys

BENCHMARKS = ["bench.data_build"]

if __name__ == "__main__":
    for module in BENCHMARKS:
        print(f"== {module}", flush=True)
        subprocess.run([sys.executable, "-m", module], check=True)
