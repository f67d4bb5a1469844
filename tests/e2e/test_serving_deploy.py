"""Deploying against the running service: blue/green under load, a refused version, rollback, shadow."""

import json
import threading
import time
from urllib.parse import urlsplit

import httpx
import pytest
import uvloop
from mlflow import MlflowClient

from bench.loadgen import run_load
from ml_platform import warehouse
from ml_platform.serving import deploy
from ml_platform.serving.online import OnlineFeatures, scheduled_request
from ml_platform.settings import MODEL_NAME

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def versions(loop):
    """The champion the loop deployed, plus a second registered version of the same model files."""
    _, settings = loop
    first = deploy.read_record(settings.serving_dir).model_version
    client = MlflowClient()
    source = client.get_model_version(MODEL_NAME, first)
    second = client.create_model_version(MODEL_NAME, source.source, run_id=source.run_id).version
    return str(first), str(second)


@pytest.fixture(scope="module")
def bodies(loop):
    _, settings = loop
    online = OnlineFeatures.load(deploy.snapshot_path(settings.serving_dir))
    rows = warehouse.read_schedule(settings.duckdb_path, online.day, online.day).head(50)
    return [json.dumps({"flight": scheduled_request(r, online), "request_id": r["flight_id"]}).encode()
            for r in rows.iter_rows(named=True)]


def _served_version(record: deploy.Deployment, body: bytes) -> str:
    return httpx.post(record.predict_url, content=body, timeout=10).json()["model_version"]


def test_blue_green_under_load_fails_no_request_and_rollback_goes_to_the_warm_standby(loop, versions, bodies):
    """One story: the rollback needs the warm standby the switch leaves."""
    _, settings = loop
    env = settings.subprocess_env()
    before = deploy.read_record(settings.serving_dir)
    router_port = urlsplit(before.endpoint).port
    stop, outcome = threading.Event(), {}
    load = threading.Thread(target=lambda: outcome.update(result=uvloop.run(
        run_load(router_port, "/predict", bodies, connections=4, duration_s=300, until=stop))))
    load.start()
    try:
        time.sleep(1.0)
        after = deploy.redeploy(versions[1], settings.serving_dir, env)
        time.sleep(1.0)
    finally:
        stop.set()
        load.join()
    result = outcome["result"]
    assert result.requests > 100
    assert result.errors == 0, (result.statuses, result.first_errors)
    assert after.endpoint == before.endpoint and after.pid != before.pid
    assert (after.standby_pid, after.standby_version) == (before.pid, before.model_version)  # warm, no traffic
    assert _served_version(after, bodies[0]) == versions[1]

    # rollback: to the warm previous version, keeping the other warm
    current = deploy.read_record(settings.serving_dir)
    assert current.model_version == versions[1] and current.standby_version == versions[0]
    rolled_back = deploy.redeploy(versions[0], settings.serving_dir, env)
    assert (rolled_back.bento_tag, rolled_back.endpoint) == (current.bento_tag, current.endpoint)
    assert rolled_back.pid == current.standby_pid  # no cold start
    assert (rolled_back.standby_pid, rolled_back.standby_version) == (current.pid, versions[1])
    assert _served_version(rolled_back, bodies[0]) == versions[0]
    again = deploy.redeploy(versions[1], settings.serving_dir, env)
    assert again.pid == current.pid and _served_version(again, bodies[0]) == versions[1]


def test_a_version_failing_its_smoke_test_leaves_the_old_one_serving(loop, versions, bodies):
    _, settings = loop
    before = deploy.read_record(settings.serving_dir)
    broken_smoke = {**json.loads(bodies[0])["flight"], "sched_dep_hour": 25}
    with pytest.raises(deploy.DeploymentError, match="smoke request answered 422.*sched_dep_hour"):
        deploy.deploy(before.bento_tag, versions[0], settings.serving_dir, settings.subprocess_env(), broken_smoke)
    assert deploy.read_record(settings.serving_dir) == before
    assert deploy.is_alive(before.pid)
    assert _served_version(before, bodies[0]) == before.model_version


def test_a_canary_takes_part_of_the_traffic_and_ending_it_stops_it(loop, versions, bodies):
    _, settings = loop
    current = deploy.read_record(settings.serving_dir)
    canary = deploy.start_canary(versions[0], 0.5, settings.serving_dir, settings.subprocess_env())
    assert (canary.model_version, canary.canary_version) == (current.model_version, versions[0])
    seen = [_served_version(canary, body) for body in bodies * 2]
    assert set(seen) == {current.model_version, versions[0]}
    ended = deploy.end_canary(settings.serving_dir, promote=False)
    assert not deploy.is_alive(canary.canary_pid) and deploy.is_alive(current.pid)
    assert ended.canary_url == "" and {_served_version(ended, body) for body in bodies} == {current.model_version}


def test_a_version_without_a_standby_starts_cold_and_the_old_standby_is_stopped(loop, versions, bodies):
    _, settings = loop
    current = deploy.read_record(settings.serving_dir)
    fresh, _ = deploy.deploy(current.bento_tag, versions[0], settings.serving_dir, settings.subprocess_env(),
                             standby_s=0)
    assert fresh.pid not in (current.pid, current.standby_pid) and fresh.standby_pid == 0
    assert not deploy.is_alive(current.pid) and not deploy.is_alive(current.standby_pid)
    assert _served_version(fresh, bodies[0]) == versions[0]


def test_a_shadow_version_is_scored_and_logged_but_never_answers(loop, versions, bodies):
    _, settings = loop
    current = deploy.read_record(settings.serving_dir)
    shadowed, _ = deploy.deploy(current.bento_tag, versions[0], settings.serving_dir, settings.subprocess_env(),
                                shadow_version=versions[1])
    assert shadowed.shadow_version == versions[1]
    answers = [httpx.post(shadowed.predict_url, content=body, timeout=10).json() for body in bodies]
    assert {a["model_version"] for a in answers} == {versions[0]}
    sent = {json.loads(b)["request_id"]: a["probability"] for b, a in zip(bodies, answers, strict=True)}
    logs = settings.serving_dir / deploy.SHADOW_DIR
    deadline = time.monotonic() + 30  # workers flush their shadow rows every half second
    while time.monotonic() < deadline:
        rows = [json.loads(line) for f in logs.glob(f"v{versions[0]}-vs-v{versions[1]}.*.jsonl")
                for line in f.read_text().splitlines()]
        logged = {r["request_id"]: r for r in rows}
        if set(sent) <= set(logged):
            break
        time.sleep(0.2)
    assert set(sent) <= set(logged)  # and the smoke request, under a generated id
    assert all(r["challenger_version"] == versions[1] and r["champion_version"] == versions[0] for r in rows)
    assert all(abs(logged[k]["champion"] - p) < 1e-12 for k, p in sent.items())
    # the second version was registered from the same model files: the shadow must agree exactly
    assert all(abs(r["challenger"] - r["champion"]) < 1e-6 for r in rows)


def test_a_bento_is_built_once_per_content_of_its_code(loop, tmp_path):
    """A promotion reuses the stored bento; a change to the code it packs builds a new one."""
    import shutil

    from ml_platform.settings import PROJECT_ROOT

    _, settings = loop
    env = settings.subprocess_env()
    deployed = deploy.read_record(settings.serving_dir).bento_tag
    stored = sorted((settings.bentoml_home / "bentos" / "flight_delay").iterdir())
    assert deploy.build_bento(PROJECT_ROOT, env) == deployed
    assert sorted((settings.bentoml_home / "bentos" / "flight_delay").iterdir()) == stored  # nothing built
    project = tmp_path / "project"
    shutil.copytree(PROJECT_ROOT / "ml_platform", project / "ml_platform",
                    ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(PROJECT_ROOT / "bentofile.yaml", project)
    assert deploy.bento_version(project) == deployed.split(":")[1]  # the content, not the folder
    with open(project / "ml_platform" / "serving" / "app.py", "a") as changed:
        changed.write("\n# a changed line\n")
    rebuilt = deploy.build_bento(project, env)
    assert rebuilt.split(":") == ["flight_delay", deploy.bento_version(project)] and rebuilt != deployed
    assert (settings.bentoml_home / "bentos" / "flight_delay" / rebuilt.split(":")[1] / "bento.yaml").exists()
