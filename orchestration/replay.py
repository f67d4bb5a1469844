"""Replay a stretch of 2013 through Dagster: land the days, tick the sensors, run what they request.

Each tick drops ``days_per_tick`` days into the landing zone, then does what the Dagster daemon
would do, in this process and on a real instance (the runs show up in the UI): it evaluates
``landing_sensor`` (data and monitoring runs for the landed days) and ``retrain_sensor`` (retrain,
gate, reference profile and redeploy runs) with their cursors, and executes every run they request.
The sensors decide; the replay only keeps time.

A tick goes through ``SensorDefinition.evaluate_tick``, the function Dagster's code server runs for the
daemon: it checks each request against the sensor's target and resolves its job, partition and tags,
so a sensor the daemon would reject fails the replay too. Each resolved request runs as that job in this
process (the daemon would launch it in a new one: ~5 s of imports a run, ~100 runs a year).
"""

from __future__ import annotations

import contextlib
import logging
import os
import sys
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from ml_platform import landing, registry, report
from ml_platform.monitoring import MonitoringStore
from ml_platform.settings import MODEL_NAME, Settings

PROFILE_STEPS = ("monitoring__feature_profile",)
QUIET = {"loggers": {"console": {"config": {"log_level": "WARNING"}}}}  # the progress bar is the output


@dataclass
class ReplayResult:
    start: date
    end: date
    ticks: int = 0
    runs: int = 0
    failed_runs: list[str] = field(default_factory=list)  # errors
    stopped_runs: list[str] = field(default_factory=list)  # a blocking check failed, as designed (a rejected challenger)
    events: list[report.Event] = field(default_factory=list)
    step_seconds: dict[str, float] = field(default_factory=dict)
    wall_s: float = 0.0
    champion: str | None = None
    report: Path | None = None

    @property
    def profiling_share(self) -> float:
        return sum(self.step_seconds.get(s, 0.0) for s in PROFILE_STEPS) / self.wall_s if self.wall_s else 0.0


class Progress:
    """One line per tick: a bar on a terminal, plain lines in a log."""

    def __init__(self, total: int, stream=sys.stdout):
        self.total, self.stream, self.started = total, stream, time.monotonic()
        self.tty = stream.isatty()

    def update(self, done: int, text: str) -> None:
        width = 30
        filled = int(width * done / self.total)
        elapsed = time.monotonic() - self.started
        line = f"[{'#' * filled}{'.' * (width - filled)}] {done}/{self.total} {text} ({elapsed:.0f}s)"
        self.stream.write(("\r" + line.ljust(110)) if self.tty else line + "\n")
        self.stream.flush()

    def close(self) -> None:
        if self.tty:
            self.stream.write("\n")


def _step_seconds(instance, run_id: str) -> dict[str, float]:
    """Wall seconds per step of a finished run, from its event log."""
    import dagster as dg

    started: dict[str, float] = {}
    seconds: dict[str, float] = {}
    for entry in instance.all_logs(run_id, of_type={dg.DagsterEventType.STEP_START, dg.DagsterEventType.STEP_SUCCESS,
                                                    dg.DagsterEventType.STEP_FAILURE}):
        step = entry.step_key
        if entry.dagster_event.event_type == dg.DagsterEventType.STEP_START:
            started[step] = entry.timestamp
        elif step in started:
            seconds[step] = entry.timestamp - started[step]
    return seconds


class Replayer:
    """The daemon's part, in this process: tick the sensors with their cursors and run what they request."""

    def __init__(self, settings: Settings, run_log):
        import dagster as dg

        from orchestration.definitions import defs

        logging.getLogger("dagster").setLevel(logging.WARNING)  # sensor ticks log through it
        self.instance = dg.DagsterInstance.local_temp(tempdir=str(settings.dagster_home))
        self.defs = defs
        self.cursors: dict[str, str | None] = {}
        self.run_log = run_log
        self.runs: list[tuple[str, bool]] = []
        self.stopped: list[str] = []  # runs a failed blocking check stopped
        self.step_seconds: dict[str, float] = defaultdict(float)

    def tick(self, sensor_name: str) -> list[tuple[str, Any]]:
        """One evaluation of the sensor as the daemon has it done: its resolved run requests, each with its job."""
        from sensors import ticks

        tick = ticks.evaluate(self.defs, sensor_name, instance=self.instance, cursor=self.cursors.get(sensor_name))
        self.cursors[sensor_name] = tick.cursor
        for event in tick.asset_events:
            self.instance.report_runless_asset_event(event)
        return tick.requests

    def run(self, job_name: str, tags: dict[str, str], partition_key: str | None = None, run_config=None,
            asset_selection=None) -> bool:
        import dagster as dg

        job = self.defs.resolve_job_def(job_name)
        with contextlib.redirect_stdout(self.run_log):  # dbt's own log lines go to the file, the bar stays readable
            outcome = job.execute_in_process(run_config={**(run_config or {}), **QUIET}, instance=self.instance,
                                             partition_key=partition_key, tags=tags, raise_on_error=False,
                                             asset_selection=asset_selection)
        self.runs.append((outcome.run_id, outcome.success))
        if any(not e.passed and e.severity == dg.AssetCheckSeverity.ERROR for e in outcome.get_asset_check_evaluations()):
            self.stopped.append(outcome.run_id)
        for step, seconds in _step_seconds(self.instance, outcome.run_id).items():
            self.step_seconds[step] += seconds
        return outcome.success

    def run_requested(self, job_name: str, request) -> bool:
        return self.run(job_name, dict(request.tags), request.partition_key, request.run_config, request.asset_selection)


def replay(settings: Settings, start: date, end: date, days_per_tick: int = 7, sample_every: int = 1,
           drift: landing.InjectedDrift | None = None) -> ReplayResult:
    """Land ``start..end`` tick by tick and let the sensors run the platform; write the report at the end."""
    from orchestration.instance import dagster_environment

    os.environ.update(dagster_environment(settings))  # the instance's dagster.yaml, as the CLI's runs get it
    result = ReplayResult(start, end)
    ticks = [(start + timedelta(days=n), min(end, start + timedelta(days=n + days_per_tick - 1)))
             for n in range(0, (end - start).days + 1, days_per_tick)]
    if drift:
        result.events.append(report.Event(drift.start, "drift", f"{drift.table}.{drift.column} in Celsius"))
    log_path = settings.home / "logs" / f"replay-{start}_{end}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    progress, began = Progress(len(ticks)), time.monotonic()
    with open(log_path, "a") as run_log:
        replayer = Replayer(settings, run_log)
        if not replayer.run("reference_tables_job", {}):  # the reference tables are not daily: not in the landing zone
            raise RuntimeError(f"the reference tables failed to build; see {log_path}")
        for number, (first, last) in enumerate(ticks, start=1):
            landing.land(settings.landing, first, last, sample_every=sample_every, drift=drift)
            for job_name, request in replayer.tick("landing_sensor"):
                if not replayer.run_requested(job_name, request):
                    result.events.append(report.Event(last, "failed", f"data run {request.run_key}"))
            for job_name, request in replayer.tick("retrain_sensor"):
                result.events.extend(_retrain(replayer, job_name, request))
            result.ticks, result.champion = number, _champion_version()
            progress.update(number, f"through {last}  champion v{result.champion or '-'}  runs {len(replayer.runs)}")
    progress.close()
    result.wall_s = time.monotonic() - began
    result.runs, result.step_seconds = len(replayer.runs), dict(replayer.step_seconds)
    result.stopped_runs = replayer.stopped
    result.failed_runs = [run_id for run_id, ok in replayer.runs if not ok and run_id not in replayer.stopped]
    result.report = report.write(MonitoringStore(settings.lake), report.ReportData(
        title=f"Replay {start}..{end}" + (f" with drift injected on {drift.start}" if drift else ""),
        summary=summary(result), events=result.events, step_seconds=result.step_seconds, wall_s=result.wall_s),
        _policy(), settings.reports / f"replay-{start}_{end}")
    return result


def _retrain(replayer: Replayer, job_name: str, request) -> list[report.Event]:
    """Run one retrain request; say whether the gate promoted its candidate."""
    day = date.fromisoformat(request.tags["ml_platform/retrain_day"])
    before = _champion_version()
    replayer.run_requested(job_name, request)
    after = _champion_version()
    newest = registry.alias_version(MODEL_NAME, registry.candidate_alias(request.partition_key))
    outcome = report.Event(day, "promoted", f"v{after}") if after != before else \
        report.Event(day, "rejected", f"v{newest}; v{before} stays champion")
    return [report.Event(day, "retrain", request.tags["ml_platform/reason"]), outcome]


def _champion_version() -> str | None:
    from orchestration.definitions import resources

    return resources["registry"].champion_version(required=False)


def _policy():
    from orchestration.definitions import resources

    return resources["monitor"].policy()


def summary(result: ReplayResult) -> dict[str, Any]:
    promotions = [e for e in result.events if e.kind == "promoted"]
    return {
        "days": f"{result.start}..{result.end}",
        "ticks": result.ticks,
        "runs": result.runs,
        "failed runs": len(result.failed_runs),
        "runs stopped by a blocking check": len(result.stopped_runs),
        "retrains": sum(e.kind == "retrain" for e in result.events),
        "promotions": len(promotions),
        "served champion": f"v{result.champion}" if result.champion else "none",
        "wall seconds": round(result.wall_s, 1),
        "profiling share of wall time": f"{result.profiling_share:.1%}",
    }
