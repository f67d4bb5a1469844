"""The front door as a user walks through it: `make dev` from a shell without the venv, Dagster's own daemon
running every sensor. Outcomes are read from the instance (ticks, runs, check evaluations), not from logs.

One story, so one test: each step lands later days than the one before (the retrain sensor decides each day
once). The UI loads; a clean day; a corrupt day; enough days for a first model; with the weather feed switched
to Celsius, a drift-triggered retrain that the promotion gate judges; a rollback from the shell. Whole days: on every 10th flight the first model's
AUC (0.62) stays under the gate's floor.
"""

import json
import subprocess
import threading
import time
from collections.abc import Callable
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import dagster as dg
import httpx
import pytest

from ml_platform import landing, warehouse
from ml_platform.serving.deploy import free_port
from ml_platform.settings import PROJECT_ROOT
from orchestration.cli import REFERENCE_ASSETS
from tests.e2e.entry_points import CLI, started, user_env

pytestmark = pytest.mark.slow
FEATURES = dg.AssetKey(["features", "flight_features"])


class Webhook(ThreadingHTTPServer):
    """A local alert receiver: every JSON body POSTed to it, in order."""

    def __init__(self):
        self.received: list[dict] = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                outer.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
                self.send_response(200)
                self.end_headers()

            def log_message(self, *args):
                pass

        super().__init__(("127.0.0.1", 0), Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}/alerts"


class Dev:
    """`make dev` running in a throwaway home, and that home's Dagster instance."""

    def __init__(self, home: Path, env: dict[str, str], url: str, log: Path, webhook: Webhook):
        self.home, self.env, self.url, self.log, self.webhook = home, env, url, log, webhook
        self.instance = dg.DagsterInstance.from_config(str(home / "dagster"))

    def cli(self, *args: str) -> subprocess.CompletedProcess:
        done = subprocess.run([CLI, *args], env=self.env, cwd=PROJECT_ROOT, capture_output=True, text=True,
                              timeout=600)
        assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
        return done

    def wait_for(self, what: str, found: Callable[[], object], timeout: float = 300) -> object:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if result := found():
                return result
            time.sleep(2)
        tail = self.log.read_text(errors="replace")[-4000:]
        raise AssertionError(f"waited {timeout:.0f} s for {what}; `make dev` printed last:\n{tail}")

    def runs(self, sensor: str) -> list[dg.DagsterRun]:
        return list(self.instance.get_runs(filters=dg.RunsFilter(tags={"dagster/sensor_name": sensor})))

    def finished(self, sensor: str, is_ours: Callable[[dg.DagsterRun], bool]) -> dg.DagsterRun | None:
        done = {dg.DagsterRunStatus.SUCCESS, dg.DagsterRunStatus.FAILURE, dg.DagsterRunStatus.CANCELED}
        return next((r for r in self.runs(sensor) if is_ours(r) and r.status in done), None)

    def tick_statuses(self, sensor: str) -> list[tuple[str, str | None]]:
        [state] = [s for s in self.instance.all_instigator_state() if s.name == sensor]
        ticks = self.instance.get_ticks(state.instigator_origin_id, state.selector_id)
        return [(t.status.value, t.error.message if t.error else None) for t in ticks]

    def check_evaluations(self, run_id: str) -> dict[tuple[str, str], bool]:
        """(asset, check) -> passed, for every check the run evaluated."""
        logs = self.instance.all_logs(run_id, of_type=dg.DagsterEventType.ASSET_CHECK_EVALUATION)
        evaluations = [e.dagster_event.event_specific_data for e in logs]
        return {(e.asset_key.to_user_string(), e.check_name): e.passed for e in evaluations}


def _covers(day: str) -> Callable[[dg.DagsterRun], bool]:
    def covers(run: dg.DagsterRun) -> bool:
        tags = run.tags
        if "dagster/partition" in tags:
            return tags["dagster/partition"] == day
        return tags.get("dagster/asset_partition_range_start", "9") <= day <= tags.get(
            "dagster/asset_partition_range_end", "0")
    return covers


@pytest.fixture(scope="module")
def dev(tmp_path_factory):
    home = tmp_path_factory.mktemp("dev-home")
    webhook = Webhook()
    env = user_env(home, ML_PLATFORM_ALERT_WEBHOOK=webhook.url)
    subprocess.run([CLI, "materialize", "--select", REFERENCE_ASSETS], env=env, cwd=PROJECT_ROOT, check=True,
                   capture_output=True, timeout=600)
    port = free_port()
    log = home / "make-dev.log"
    try:
        with started(["make", "dev", f"DAGSTER_PORT={port}"], env, log):
            try:
                yield Dev(home, env, f"http://127.0.0.1:{port}", log, webhook)
            finally:  # the service the retrain started
                subprocess.run([CLI, "stop"], env=env, cwd=PROJECT_ROOT, capture_output=True, timeout=120)
    finally:
        webhook.shutdown()


def _location(dev: Dev) -> dict | None:
    query = "{ workspaceOrError { ... on Workspace { locationEntries { name locationOrLoadError { __typename " \
            "... on PythonError { message } } } } } }"
    try:
        answer = httpx.post(f"{dev.url}/graphql", json={"query": query}, timeout=10).json()
    except httpx.HTTPError:
        return None
    [entry] = answer["data"]["workspaceOrError"]["locationEntries"]
    return entry if entry["locationOrLoadError"] else None


def test_the_front_door_under_dagsters_own_daemon(dev, tmp_path):
    """`make dev` from a user's shell: every sensor evaluated by Dagster's daemon, every run launched by it."""
    the_ui_loads_the_code_location(dev)
    a_landed_day_is_built_by_the_landing_sensor(dev)
    a_corrupt_day_fails_its_run_and_the_failure_sensor_posts_the_alert(dev, tmp_path)
    enough_days_train_a_first_model_and_drift_triggers_a_retrain_the_gate_judges(dev)


def the_ui_loads_the_code_location(dev):
    entry = dev.wait_for("the webserver to load the code location", lambda: _location(dev), timeout=180)
    assert entry["name"] == "ml_platform"
    assert entry["locationOrLoadError"]["__typename"] == "RepositoryLocation", entry["locationOrLoadError"]


def a_landed_day_is_built_by_the_landing_sensor(dev):
    day = "2013-01-01"
    dev.cli("land", "--date", day)
    run = dev.wait_for(f"landing_sensor's run of {day}", lambda: dev.finished("landing_sensor", _covers(day)))
    assert run.status == dg.DagsterRunStatus.SUCCESS and run.job_name == "daily_data_job"
    assert day in dev.instance.get_materialized_partitions(FEATURES)
    features = warehouse.read_features(dev.home / "warehouse.duckdb", *(2 * [date.fromisoformat(day)]))
    assert features.height > 500  # the day's flights, with their point-in-time features
    ticks = dev.tick_statuses("landing_sensor")
    assert ("SUCCESS", None) in ticks and not [t for t in ticks if t[0] == "FAILURE"], ticks


def a_corrupt_day_fails_its_run_and_the_failure_sensor_posts_the_alert(dev, tmp_path):
    day = date(2013, 1, 2)
    landing.land(tmp_path, day, day)  # the source's files, then cut off mid-line
    flights = landing.landing_path(tmp_path, "flights", day)
    flights.write_text(flights.read_text()[:-40])
    for table in landing.DAILY_TABLES:  # dropped into the landing zone as a source would: whole files, renamed
        target = landing.landing_path(dev.home / "landing", table, day)
        target.parent.mkdir(parents=True, exist_ok=True)
        landing.landing_path(tmp_path, table, day).rename(target)
    run = dev.wait_for("landing_sensor's run of the corrupt day",
                       lambda: dev.finished("landing_sensor", _covers(day.isoformat())))
    assert run.status == dg.DagsterRunStatus.FAILURE
    checks = dev.check_evaluations(run.run_id)
    assert checks[("raw/flights", "contract")] is False and checks[("raw/weather", "contract")] is True
    assert landing.quarantine_path(dev.home / "landing", "flights", day).exists()
    assert day.isoformat() not in dev.instance.get_materialized_partitions(FEATURES)
    alert = dev.wait_for("failure_alert_sensor's webhook post", lambda: next(
        (a for a in dev.webhook.received if a.get("kind") == "run_failure" and a["run_id"] == run.run_id), None),
        timeout=180)
    assert alert["job"] == "daily_data_job" and alert["text"].startswith("[ml-platform] run_failure")


def enough_days_train_a_first_model_and_drift_triggers_a_retrain_the_gate_judges(dev):
    # 2013-01-02 again, whole this time: 56 days of data, the retrain sensor's warm-up, end on 2013-02-25
    dev.cli("land", "--start", "2013-01-02", "--end", "2013-02-25")
    first = dev.wait_for("retrain_sensor's first retrain", lambda: dev.finished("retrain_sensor", lambda r: True),
                         timeout=900)
    assert first.status == dg.DagsterRunStatus.SUCCESS and first.job_name == "retrain_job", first.status
    assert first.tags["ml_platform/retrain_day"] == "2013-02-25" and "first model" in first.tags["ml_platform/reason"]
    assert dev.check_evaluations(first.run_id)[("models/champion", "promotion_gate")] is True
    served = dev.cli("predict")
    assert "on 2013-02-25" in served.stdout and "[model flight_delay v1," in served.stdout

    # the weather feed switches to Celsius: past the 14-day cool-down, the drift asks for a retrain
    dev.cli("land", "--start", "2013-02-26", "--end", "2013-03-15", "--inject-drift", "2013-02-26")
    second = dev.wait_for("a drift-triggered retrain", lambda: dev.finished(
        "retrain_sensor", lambda r: r.run_id != first.run_id), timeout=900)
    assert "drifted" in second.tags["ml_platform/reason"] and "temp" in second.tags["ml_platform/reason"]
    # judged: promoted, or stopped by the blocking gate
    promoted = dev.check_evaluations(second.run_id)[("models/champion", "promotion_gate")]
    assert (second.status == dg.DagsterRunStatus.SUCCESS) == promoted
    assert any(a.get("kind") == "retrain" and "temp" in a["summary"] for a in dev.webhook.received)
    for sensor in ("landing_sensor", "retrain_sensor", "failure_alert_sensor"):
        assert not [t for t in dev.tick_statuses(sensor) if t[0] == "FAILURE"], sensor

    # `ml-platform rollback`: back to v1 and redeployed where the gate promoted v2; a clear refusal where it did not
    rolled = subprocess.run([CLI, "rollback"], env=dev.env, capture_output=True, text=True, timeout=300)
    if promoted:
        assert rolled.returncode == 0 and "champion: v2 -> v1" in rolled.stdout and "serving v1" in rolled.stdout
    else:
        assert rolled.returncode == 1 and "no earlier champion than v1" in rolled.stderr, rolled.stderr
        assert "Traceback" not in rolled.stderr
