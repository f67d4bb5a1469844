"""Shared bench plumbing: machine description, isolated child-process cases, JSON results."""

from __future__ import annotations

import json
import os
import platform
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results"


def machine() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                if line.startswith("model name")), platform.processor())
    mem_kib = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
                   if line.startswith("MemTotal"))
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem_kib / 2**20, 1),
            "python": platform.python_version(), "platform": platform.platform()}


def peak_rss_mib() -> float:
    """Peak resident memory of this process (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def host_steal_s() -> float:
    """CPU time the hypervisor gave to other guests, all cores together (/proc/stat): a shared host's tax."""
    fields = Path("/proc/stat").read_text().split("\n", 1)[0].split()  # cpu user nice system idle iowait irq softirq steal
    return int(fields[8]) / os.sysconf("SC_CLK_TCK")


def host_probe_ms() -> float:
    """Milliseconds for a fixed pure-Python loop (best of 3): how fast one core of this host is right now.

    On a shared VM the same work costs more CPU when the host is busy; this reading, taken before and after
    a case, says which kind of minute the case ran in: the higher, the busier.
    """
    def once() -> float:
        started, total = time.perf_counter(), 0
        for i in range(1_000_000):
            total += i
        return time.perf_counter() - started

    return round(min(once() for _ in range(3)) * 1000, 1)


def run_case(module: str, case: str, *args: str) -> dict[str, Any]:
    """Run one case in a fresh interpreter so its time and peak memory are its own.

    Besides wall time: the CPU seconds of the case and the children it waited for (steady where wall
    time is not), the host's steal over the case (how much of the machine other guests took) and its
    speed probed before and after.
    """
    probe = host_probe_ms()
    started, steal = time.perf_counter(), host_steal_s()
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    done = subprocess.run([sys.executable, "-m", module, "--case", case, *args],
                          capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"{module} --case {case} failed:\n{done.stderr[-3000:]}")
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    result = json.loads(done.stdout.strip().splitlines()[-1])
    result["process_wall_s"] = round(time.perf_counter() - started, 3)
    result["process_cpu_s"] = round(after.ru_utime + after.ru_stime - before.ru_utime - before.ru_stime, 1)
    result["host_steal_s"] = round(host_steal_s() - steal, 1)
    result["host_probe_ms"] = [probe, host_probe_ms()]
    return result


def emit(result: dict[str, Any]) -> None:
    """A case's last stdout line: its JSON result, peak memory included."""
    result["peak_rss_mib"] = round(peak_rss_mib(), 1)
    sys.stdout.write(json.dumps(result) + "\n")


def write(name: str, data: dict[str, Any]) -> Path:
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    payload = {"benchmark": name, "measured_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
               "machine": machine(), **data}
    path.write_text(json.dumps(payload, indent=2) + "\n")
    return path
