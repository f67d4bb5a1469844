"""The README's entry points as it states them, from a shell without an activated venv.

`make dev` and the sensors under its daemon are in test_daemon.py; `make test` and `make smoke` are what CI runs.
"""

import subprocess
import time
from pathlib import Path

import dagster as dg
import httpx
import pytest

from ml_platform.serving.deploy import free_port
from ml_platform.settings import PROJECT_ROOT
from tests.e2e.entry_points import BIN, CLI, started, user_env

pytestmark = pytest.mark.slow


def _poll(what: str, probe, log: Path, timeout: float = 180):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if result := probe():
                return result
        except httpx.HTTPError:
            pass
        time.sleep(2)
    raise AssertionError(f"waited {timeout:.0f} s for {what}; the process printed:\n"
                         + log.read_text(errors="replace")[-3000:])


LOCATION = "{ workspaceOrError { ... on Workspace { locationEntries { name locationOrLoadError { __typename " \
           "... on PythonError { message } } } } } }"


@pytest.mark.parametrize("command", [["dagster", "dev"], ["dagster-webserver"]], ids=" ".join)
def test_dagsters_own_commands_by_path_load_the_code_location(command, tmp_path):
    port = free_port()
    args = [str(BIN / command[0]), *command[1:], "-w", str(PROJECT_ROOT / "workspace.yaml"), "-h", "127.0.0.1",
            "-p", str(port)]
    log = tmp_path / "server.log"
    # DAGSTER_HOME as the user would export it; dagster dev re-parses the dbt project with the venv's dbt
    with started(args, user_env(tmp_path, DAGSTER_HOME=str(tmp_path)), log):
        def loaded():
            answer = httpx.post(f"http://127.0.0.1:{port}/graphql", json={"query": LOCATION}, timeout=10).json()
            [entry] = answer["data"]["workspaceOrError"]["locationEntries"]
            return entry["locationOrLoadError"]

        outcome = _poll(f"{command} to load the code location", loaded, log)
    assert outcome["__typename"] == "RepositoryLocation", outcome


def test_dagster_daemon_by_path_ticks_every_sensor(tmp_path):
    home = tmp_path / "home"
    env = user_env(home)
    subprocess.run([CLI, "validate"], env=env, cwd=PROJECT_ROOT, check=True, capture_output=True)  # writes dagster.yaml
    env["DAGSTER_HOME"] = str(home / "dagster")
    log = tmp_path / "daemon.log"
    with started([str(BIN / "dagster-daemon"), "run", "-w", str(PROJECT_ROOT / "workspace.yaml")], env, log):
        instance = dg.DagsterInstance.from_config(env["DAGSTER_HOME"])

        def every_sensor_ticked():
            states = [s for s in instance.all_instigator_state() if s.name.endswith("_sensor")]
            ticks = {s.name: instance.get_ticks(s.instigator_origin_id, s.selector_id) for s in states}
            return ticks if len(ticks) == 3 and all(ticks.values()) else None

        ticks = _poll("a tick of every sensor", every_sensor_ticked, log)
    assert set(ticks) == {"landing_sensor", "retrain_sensor", "failure_alert_sensor"}
    failed = {name: [t.error.message for t in ts if t.status.value == "FAILURE"] for name, ts in ticks.items()}
    assert not any(failed.values()), failed


def test_make_mlflow_ui_serves_the_platforms_tracking_store(tmp_path):
    port = free_port()
    log = tmp_path / "mlflow.log"
    with started(["make", "mlflow-ui", f"MLFLOW_PORT={port}"], user_env(tmp_path / "home"), log):
        url = f"http://127.0.0.1:{port}"
        _poll("MLflow's UI", lambda: httpx.get(f"{url}/health", timeout=5).status_code == 200, log)
        page = httpx.get(url, timeout=10)
        experiments = httpx.post(f"{url}/ajax-api/2.0/mlflow/experiments/search", json={"max_results": 10},
                                 timeout=10)
    assert page.status_code == 200 and "MLflow" in page.text
    assert experiments.status_code == 200 and "experiments" in experiments.json(), experiments.text
    assert (tmp_path / "home" / "mlflow" / "mlflow.db").exists()  # the platform's store, not ./mlruns


def test_make_demo_prints_a_served_prediction_and_stops_the_service(tmp_path):
    home = tmp_path / "home"
    done = subprocess.run(["make", "demo", "ARGS=--sample-every 10"], env=user_env(home), cwd=PROJECT_ROOT,
                          capture_output=True, text=True, timeout=1500)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "P(arrival delay > 15 min) = " in done.stdout and "[model flight_delay v1," in done.stdout
    assert "stopped " in done.stdout and "(pid " in done.stdout
    asked = subprocess.run([CLI, "predict"], env=user_env(home), capture_output=True, text=True, timeout=60)
    assert asked.returncode != 0 and "no service is running" in asked.stderr


def test_cli_help_lists_every_command_the_readme_names():
    done = subprocess.run([CLI, "--help"], env=user_env(Path("/nonexistent")), capture_output=True, text=True)
    readme = (PROJECT_ROOT / "README.md").read_text()
    for command in ("demo", "smoke", "land", "materialize", "predict", "rollback", "stop", "replay", "validate",
                    "dev", "mlflow-ui"):
        assert command in done.stdout and f"`{command}" in readme, command
