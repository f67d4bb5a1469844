"""``ml-platform``: the commands behind the Makefile, each with the platform's state wired in."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from datetime import date
from pathlib import Path

import httpx

from ml_platform.settings import PROJECT_ROOT, Settings, get_settings
from orchestration.instance import dagster_environment

DAGSTER = str(Path(sys.executable).parent / "dagster")
DEFINITIONS_MODULE = "orchestration.definitions"  # also workspace.yaml, pyproject [tool.dagster]
SMOKE_DAY = date(2013, 1, 2)
YEAR = (date(2013, 1, 1), date(2013, 12, 31))
YEAR_RANGE = f"{YEAR[0].isoformat()}...{YEAR[1].isoformat()}"  # every daily partition, in one run
HOLDOUT_RANGE = "2013-10-01...2013-12-31"  # the days the demo's champion is monitored on
# `dagster asset materialize` runs one partitions definition at a time: the data is built in two runs
REFERENCE_ASSETS = " or ".join(f'key:"{layer}/{table}"' for layer in ("raw", "staging")
                               for table in ("planes", "airlines", "airports"))
DAILY_ASSETS = " or ".join(f'key:"{key}"' for key in ("raw/flights", "raw/weather", "staging/flights",
                                                      "staging/weather", "features/flight_features"))


def materialize(settings: Settings, selection: str = "*", partition: str | None = None,
                strict_checks: bool = False) -> int:
    """Materialize ``selection`` with the dagster CLI, printing each step as it finishes.

    ``partition`` is one key (``2013-03-05``) or a range (``2013-01-01...2013-12-31``, one run).
    ``strict_checks``: a failed asset check fails the call even when it does not block the run (CI).
    """
    log_path = settings.home / "logs" / f"materialize-{time.strftime('%Y%m%dT%H%M%S')}-{os.getpid()}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    args = [DAGSTER, "asset", "materialize", "-m", DEFINITIONS_MODULE, "--select", selection]
    if partition:
        args += ["--partition-range" if "..." in partition else "--partition", partition]
    label = f"'{selection}'" + (f" [{partition}]" if partition else "")
    print(f"materializing {label} through Dagster (full log: {log_path})", flush=True)
    started = time.monotonic()
    checks = {"passed": 0, "failed": 0}
    with open(log_path, "w") as log_file:
        process = subprocess.Popen(args, env=dagster_environment(settings), cwd=PROJECT_ROOT,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        assert process.stdout is not None
        for line in process.stdout:
            log_file.write(line)
            if "STEP_SUCCESS" in line or "STEP_FAILURE" in line:
                step = line.split('step "', 1)[-1].split('"', 1)[0]
                status = "ok  " if "STEP_SUCCESS" in line else "FAIL"
                print(f"  [{time.monotonic() - started:6.1f}s] {status} {step}", flush=True)
            elif "ASSET_CHECK_EVALUATION" in line:
                checks["passed" if "' passed" in line else "failed"] += 1
                if "' passed" not in line:  # the log line has no severity: a warning reads the same as an error
                    print(f"  check did not pass: {line.split('ASSET_CHECK_EVALUATION - ', 1)[-1].strip()}",
                          flush=True)
        code = process.wait()
    note = " (a blocking check fails its run; a warning such as feature_drift does not)" if checks["failed"] else ""
    print(f"  {checks['passed']} asset checks passed, {checks['failed']} did not{note}", flush=True)
    if strict_checks and checks["failed"] and code == 0:
        code = 1
    if code != 0:
        print(f"materialization failed (exit {code}); see {log_path}", file=sys.stderr)
    return code


def _deployment(settings: Settings):
    from ml_platform.serving import deploy

    record = deploy.read_record(settings.serving_dir)
    if record is None or not deploy.is_alive(record.pid):
        raise SystemExit("no service is running: materialize serving/service first (make demo / make dev)")
    return record


def predict(settings: Settings, flight: dict | None = None) -> dict:
    """Send one flight, as known at schedule time, to the running service and print the answer."""
    from ml_platform import warehouse
    from ml_platform.serving.deploy import snapshot_path
    from ml_platform.serving.online import OnlineFeatures, scheduled_request

    record = _deployment(settings)
    if flight is None:
        online = OnlineFeatures.load(snapshot_path(settings.serving_dir))
        row = warehouse.read_schedule(settings.duckdb_path, online.day, online.day).row(0, named=True)
        flight = scheduled_request(row, online)
        print(f"flight: {row['carrier']}{row['flight']} {row['origin']}->{row['dest']} on {row['flight_date']} "
              f"at {row['sched_dep_time']:04d} (actually delayed: {row['is_delayed']})")
    response = httpx.post(record.predict_url, json={"flight": flight}, timeout=10.0)
    if response.status_code != 200:
        raise SystemExit(f"service answered {response.status_code}: {response.text}")
    answer = response.json()
    print(f"P(arrival delay > 15 min) = {answer['probability']:.3f}  "
          f"[model {answer['model_name']} v{answer['model_version']}, bento {record.bento_tag}, {record.url}]")
    return answer


def stop(settings: Settings) -> None:
    from ml_platform.serving import deploy

    stopped = deploy.stop(settings.serving_dir)
    print(f"stopped {stopped.bento_tag} (pid {stopped.pid})" if stopped else "no service was running")


def land(settings: Settings, first: date, last: date, sample_every: int = 1, inject_drift: date | None = None) -> int:
    """Drop the source's day files for ``first..last`` into the landing zone (the sensor picks them up)."""
    from ml_platform import landing

    drift = landing.InjectedDrift(inject_drift) if inject_drift else None
    files = landing.land(settings.landing, first, last, sample_every=sample_every, drift=drift)
    print(f"landed {len(files)} files for {first}..{last} in {settings.landing}")
    return 0


def smoke(settings: Settings, day: date = SMOKE_DAY) -> int:
    """What CI runs through the dagster CLI: land one day, build the reference tables, then the day's raw,
    staging and features; every asset check of those assets runs, and a failed run or check fails it."""
    land(settings, day, day)
    for selection, partition in ((REFERENCE_ASSETS, None), (DAILY_ASSETS, day.isoformat())):
        code = materialize(settings, selection, partition, strict_checks=True)
        if code != 0:
            return code
    return 0


def data_stages() -> list[tuple[str, str | None]]:
    """The runs that build the data: the reference tables, then every daily partition of the year in one run."""
    return [(REFERENCE_ASSETS, None), (DAILY_ASSETS, YEAR_RANGE)]


def demo_stages() -> list[tuple[str, str | None]]:
    """The runs that materialize the whole graph: data, one candidate per spec, gate and serving, monitoring."""
    from ml_platform.specs import SPECS

    return [
        *data_stages(),
        *[('key:"models/candidate"', spec) for spec in sorted(SPECS)],
        ('key:"models/champion" or group:serving or key:"monitoring/reference_profile"', None),
        ('key:"monitoring/feature_profile" or key:"monitoring/live_performance"', HOLDOUT_RANGE),
    ]


def demo(settings: Settings, sample_every: int = 1) -> int:
    """The whole loop: land the year, build it, train and serve, ask the served model once, stop it."""
    started = time.monotonic()
    land(settings, *YEAR, sample_every=sample_every)
    for selection, partition in demo_stages():
        code = materialize(settings, selection, partition)
        if code != 0:
            return code
    try:
        predict(settings)
    finally:
        stop(settings)
    print(f"demo finished in {time.monotonic() - started:.0f}s; state in {settings.home}")
    return 0


def dev(settings: Settings, port: int) -> int:
    """Open the Dagster UI on 127.0.0.1 with this code location loaded."""
    args = [DAGSTER, "dev", "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", "127.0.0.1", "-p", str(port)]
    return subprocess.call(args, env=dagster_environment(settings), cwd=PROJECT_ROOT)


def rollback(settings: Settings) -> None:
    """Point the champion alias back at the previous promoted version and serve it, if a service runs."""
    from ml_platform import promotion
    from ml_platform.serving import deploy
    from ml_platform.settings import MODEL_NAME

    settings.export_env()
    try:
        event = promotion.rollback(MODEL_NAME, settings.promotion_history)
    except LookupError as error:  # nothing to roll back to: say so, no traceback
        raise SystemExit(f"rollback: {error}") from None
    print(f"champion: v{event['previous']} -> v{event['version']} ({event['reason']})")
    if deploy.read_record(settings.serving_dir) is not None:
        started = time.monotonic()
        serving = deploy.redeploy(event["version"], settings.serving_dir, settings.subprocess_env())
        print(f"serving v{serving.model_version} at {serving.endpoint or serving.url} "
              f"after {time.monotonic() - started:.1f}s")


def replay(settings: Settings, start: date, end: date, days_per_tick: int, sample_every: int,
           inject_drift: date | None) -> int:
    """Replay ``start..end`` through the sensors in a fresh home, then print where the report is."""
    from ml_platform import landing
    from orchestration import replay as replaying

    if any((settings.home / part).exists() for part in ("lake", "landing", "mlflow")):
        raise SystemExit(f"replay needs a fresh ML_PLATFORM_HOME, and {settings.home} has state: "
                         f"use e.g. ML_PLATFORM_HOME={settings.home}-replay (or `make replay`)")
    drift = landing.InjectedDrift(inject_drift) if inject_drift else None
    result = replaying.replay(settings, start, end, days_per_tick, sample_every, drift)
    for key, value in replaying.summary(result).items():
        print(f"  {key}: {value}")
    print(f"report: {result.report}")
    if result.champion:
        print("the champion is still served: `ml-platform predict`, `ml-platform stop`")
    return 0 if result.champion else 1


def validate(settings: Settings) -> int:
    """``dagster definitions validate`` on the workspace, with the platform's DAGSTER_HOME."""
    args = [DAGSTER, "definitions", "validate", "-w", str(PROJECT_ROOT / "workspace.yaml")]
    return subprocess.call(args, env=dagster_environment(settings), cwd=PROJECT_ROOT)


def mlflow_ui(settings: Settings, port: int) -> int:
    """Open MLflow's UI on the platform's tracking store."""
    mlflow = str(Path(sys.executable).parent / "mlflow")
    args = [mlflow, "ui", "--backend-store-uri", settings.mlflow_tracking_uri,
            "--host", "127.0.0.1", "--port", str(port)]
    return subprocess.call(args, env=dagster_environment(settings))


def _add_source_options(parser: argparse.ArgumentParser) -> None:
    """How the source's files are dropped: thinned for speed, or with an upstream change injected."""
    parser.add_argument("--sample-every", type=int, default=1, help="keep every n-th flight (faster)")
    parser.add_argument("--inject-drift", type=date.fromisoformat, nargs="?", const=date(2013, 7, 1), metavar="DAY",
                        help="from DAY on (default 2013-07-01) the weather feed reports temperature in Celsius")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="ml-platform", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    demo_parser = sub.add_parser("demo", help="materialize the whole graph, print one served prediction, stop the "
                                 "service")
    demo_parser.add_argument("--sample-every", type=int, default=1, help="keep every n-th flight (faster)")
    mat = sub.add_parser("materialize", help="materialize an asset selection through the dagster CLI")
    mat.add_argument("--select", default="*", help="Dagster asset selection (default: everything)")
    mat.add_argument("--partition", help="a partition key: a day (2013-03-05), a range in one run (2013-01-01...2013-01-31) or a model spec")
    land_parser = sub.add_parser("land", help="drop the source's day files into the landing zone")
    land_parser.add_argument("--date", type=date.fromisoformat, help="one day, e.g. 2013-03-05")
    land_parser.add_argument("--start", type=date.fromisoformat, help="first day of a range")
    land_parser.add_argument("--end", type=date.fromisoformat, help="last day of a range (default: --start)")
    _add_source_options(land_parser)
    pred = sub.add_parser("predict", help="ask the running service about one flight")
    pred.add_argument("--flight", help="JSON object: a flight as known at schedule time (default: one of the "
                      "online snapshot's day)")
    sub.add_parser("stop", help="stop the running service")
    sub.add_parser("rollback", help="point the MLflow champion alias back at the previous promoted version")
    rep = sub.add_parser("replay", help="replay days through the landing zone and the sensors, write a report")
    rep.add_argument("--start", type=date.fromisoformat, default=YEAR[0])
    rep.add_argument("--end", type=date.fromisoformat, default=YEAR[1])
    rep.add_argument("--days-per-tick", type=int, default=7, help="days landed between two sensor ticks")
    _add_source_options(rep)
    sub.add_parser("validate", help="dagster definitions validate on workspace.yaml")
    smoke_parser = sub.add_parser("smoke", help="land a day and build its data layers with their checks (CI)")
    smoke_parser.add_argument("--date", type=date.fromisoformat, default=SMOKE_DAY)
    dev_parser = sub.add_parser("dev", help="open the Dagster UI on 127.0.0.1")
    dev_parser.add_argument("--port", type=int, default=3000)
    ui = sub.add_parser("mlflow-ui", help="open MLflow's UI on the platform's tracking store")
    ui.add_argument("--port", type=int, default=5000)
    args = parser.parse_args(argv)

    settings = get_settings()
    if args.command == "demo":
        return demo(settings, args.sample_every)
    if args.command == "materialize":
        return materialize(settings, args.select, args.partition)
    if args.command == "land":
        first = args.date or args.start
        if first is None or (args.date and (args.start or args.end)):
            parser.error("land needs --date DAY, or --start DAY [--end DAY]")
        return land(settings, first, args.end or first, args.sample_every, args.inject_drift)
    if args.command == "predict":
        predict(settings, json.loads(args.flight) if args.flight else None)
        return 0
    if args.command == "rollback":
        rollback(settings)
        return 0
    if args.command == "stop":
        stop(settings)
        return 0
    if args.command == "validate":
        return validate(settings)
    if args.command == "smoke":
        return smoke(settings, args.date)
    if args.command == "replay":
        return replay(settings, args.start, args.end, args.days_per_tick, args.sample_every, args.inject_drift)
    if args.command == "dev":
        return dev(settings, args.port)
    return mlflow_ui(settings, args.port)


if __name__ == "__main__":
    sys.exit(main())
