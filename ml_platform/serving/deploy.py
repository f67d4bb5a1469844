"""Build a bento and run it locally with ``bentoml serve``: start new, smoke-test, switch, stop old.

The deployment record (``deployment.json``) is the one place that says what is serving; the
old version keeps serving until the new one has answered a smoke request. Clients call the router's
stable endpoint (:mod:`ml_platform.serving.router`), which follows the record: replacing the record is
the traffic switch. The replaced version is not stopped at once: it stays warm as the *standby* for
``STANDBY_S``, so a rollback to it inside that grace period is a router switch, not a cold start
(measured in ``bench/results/deploy.json``); the router stops it when the grace period ends.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, replace
from importlib import metadata
from pathlib import Path
from typing import Any

import httpx
import yaml

from ml_platform import atomic, registry
from ml_platform.serving import BENTO_NAME
from ml_platform.serving.app import MODEL_DIR_ENV, ONLINE_FEATURES_ENV
from ml_platform.serving.online import SNAPSHOT_FILE, OnlineFeatures
from ml_platform.serving.router import STATUS_PATH
from ml_platform.serving.shadow import SHADOW_LOG_DIR_ENV, SHADOW_MODEL_DIR_ENV
from ml_platform.settings import MODEL_NAME

log = logging.getLogger(__name__)

BENTOML = str(Path(sys.executable).parent / "bentoml")
ROUTER_FILE = "router.json"
SHADOW_DIR = "shadow"
STANDBY_S = 600.0  # how long a replaced version stays warm for an instant rollback


class DeploymentError(RuntimeError):
    """A new version did not come up healthy; whatever served before still serves."""


@dataclass(frozen=True)
class Deployment:
    bento_tag: str
    model_version: str
    url: str
    pid: int
    log_path: str
    started_at: float
    endpoint: str = ""  # the router's stable URL clients use; ``url`` is this version's own port
    canary_version: str = ""  # a second version taking ``canary_fraction`` of the router's requests
    canary_url: str = ""
    canary_pid: int = 0
    canary_fraction: float = 0.0
    shadow_version: str = ""  # scored on every single-row request beside ``model_version``, only logged
    standby_version: str = ""  # the replaced version, still running (no traffic) until ``standby_until``
    standby_url: str = ""
    standby_pid: int = 0
    standby_shadow_version: str = ""
    standby_until: float = 0.0

    @property
    def predict_url(self) -> str:
        return f"{self.endpoint or self.url}/predict"


def build_bento(project_root: Path, env: dict[str, str]) -> str:
    """``bentoml build`` from the repo root, versioned by its inputs' content; returns the bento tag.

    A promotion changes the model, which the service loads from MLflow at start, not the bento: the same
    code gives the same tag, and a bento already in the store is not built again (2-3 s per promotion).
    """
    version = bento_version(project_root)
    if (Path(env["BENTOML_HOME"]) / "bentos" / BENTO_NAME / version / "bento.yaml").exists():
        return f"{BENTO_NAME}:{version}"
    args = [BENTOML, "build", str(project_root), "-f", str(project_root / "bentofile.yaml"), "-o", "tag",
            "--version", version]
    done = subprocess.run(args, env={**os.environ, **env}, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bentoml build failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    tags = [line.split("__tag__:", 1)[1] for line in done.stdout.splitlines() if "__tag__:" in line]
    if not tags:
        raise RuntimeError(f"bentoml build printed no tag: {done.stdout[-1000:]}")
    return tags[-1].strip()


def bento_version(project_root: Path) -> str:
    """A digest of what ``bentoml build`` packs: BentoML's version, the bentofile, the files it includes
    and its requirements file (the locked environment)."""
    bentofile = (project_root / "bentofile.yaml").read_bytes()
    digest = hashlib.sha256(metadata.version("bentoml").encode() + bentofile)
    config = yaml.safe_load(bentofile)
    included = {path for pattern in config.get("include", ["*"])
                for path in project_root.glob(pattern) if path.is_file() and "__pycache__" not in path.parts}
    if requirements := (config.get("python") or {}).get("requirements_txt"):
        included.add(project_root / requirements)
    for path in sorted(included):
        digest.update(path.relative_to(project_root).as_posix().encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:20]


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def read_record(state_dir: Path) -> Deployment | None:
    path = state_dir / "deployment.json"
    if not path.exists():
        return None
    return Deployment(**json.loads(path.read_text()))


def _write_record(state_dir: Path, deployment: Deployment | None) -> None:
    path = state_dir / "deployment.json"
    if deployment is None:
        path.unlink(missing_ok=True)
        return
    atomic.write_text(path, json.dumps(asdict(deployment), indent=2))


def is_alive(pid: int) -> bool:
    """Whether process ``pid`` runs; 0 (a record's "none") is not a process (``kill(0)`` signals our group)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _poller(timeout_s: float) -> httpx.Client:
    """One client for a whole polling loop. ``httpx.get`` builds a client and its TLS context on every call:
    38 ms of CPU per poll instead of 5 ms (measured), CPU that the server starting beside it needs."""
    return httpx.Client(timeout=timeout_s)


def _wait_ready(url: str, process: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    with _poller(2.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise DeploymentError(f"bentoml serve exited with {process.returncode} before it was ready")
            try:
                if client.get(f"{url}/readyz").status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
    raise DeploymentError(f"service at {url} not ready after {timeout_s:.0f}s")


def smoke_test(url: str, request: dict[str, Any]) -> dict[str, Any]:
    response = httpx.post(f"{url}/predict", json={"flight": request}, timeout=10.0)
    if response.status_code != 200:
        raise DeploymentError(f"smoke request answered {response.status_code}: {response.text[:500]}")
    body = response.json()
    if not 0.0 <= float(body.get("probability", -1)) <= 1.0:
        raise DeploymentError(f"smoke request returned no probability: {body}")
    return body


def _terminate(pid: int, timeout_s: float = 15.0) -> None:
    """Stop a server started in its own session: SIGTERM its group, SIGKILL if it lingers."""
    if not is_alive(pid):
        return
    os.killpg(pid, signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        try:
            os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            pass
        if not is_alive(pid):
            return
        time.sleep(0.2)
    os.killpg(pid, signal.SIGKILL)


def _router_url(state_dir: Path) -> str | None:
    path = state_dir / ROUTER_FILE
    if not path.exists():
        return None
    router = json.loads(path.read_text())
    return router["url"] if is_alive(router["pid"]) else None


def ensure_router(state_dir: Path, timeout_s: float = 20.0) -> str:
    """The router's URL, starting it on a free port if none is running for ``state_dir``."""
    url = _router_url(state_dir)
    if url is not None:
        return url
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    with open(state_dir / "router.log", "ab") as log_file:
        process = subprocess.Popen(
            [sys.executable, "-m", "ml_platform.serving.router", "--port", str(port), "--state-dir", str(state_dir)],
            stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
        )
    deadline = time.monotonic() + timeout_s
    with _poller(1.0) as client:
        while time.monotonic() < deadline:
            if process.poll() is not None:
                raise DeploymentError(f"router exited with {process.returncode}; see {state_dir / 'router.log'}")
            try:
                client.get(f"{url}{STATUS_PATH}")
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            _terminate(process.pid)
            raise DeploymentError(f"router on {url} did not start in {timeout_s:.0f}s")
    atomic.write_text(state_dir / ROUTER_FILE, json.dumps({"pid": process.pid, "url": url}))
    return url


def snapshot_path(state_dir: Path) -> Path:
    """Where ``serving/online_features`` puts the snapshot the next started version loads."""
    return state_dir / SNAPSHOT_FILE


def _smoke_request(state_dir: Path) -> dict[str, Any]:
    """A real flight of the snapshot's day: a request the version about to start must answer."""
    path = snapshot_path(state_dir)
    if not path.exists():
        raise DeploymentError(f"no online feature snapshot at {path}: materialize serving/online_features first")
    return OnlineFeatures.load(path).example


def _version_env(model_version: str, state_dir: Path, shadow_version: str) -> dict[str, str]:
    """The model (and shadow model) exported from MLflow, so the serving workers never import MLflow."""
    models = state_dir / "models"
    env = {MODEL_DIR_ENV: str(registry.export_model(MODEL_NAME, model_version, models)),
           ONLINE_FEATURES_ENV: str(snapshot_path(state_dir))}
    if shadow_version:
        env[SHADOW_MODEL_DIR_ENV] = str(registry.export_model(MODEL_NAME, shadow_version, models))
        env[SHADOW_LOG_DIR_ENV] = str(state_dir / SHADOW_DIR)
    return env


def _start_version(
    bento_tag: str, model_version: str, state_dir: Path, env: dict[str, str], smoke_request: dict[str, Any],
    timeout_s: float, shadow_version: str = "",
) -> tuple[str, int, Path, dict[str, Any]]:
    """Start ``bento_tag`` serving ``model_version`` on a free port and smoke-test it; stop it on failure."""
    state_dir.mkdir(parents=True, exist_ok=True)
    version_env = _version_env(model_version, state_dir, shadow_version)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = state_dir / f"serve-{port}.log"
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [BENTOML, "serve", bento_tag, "--host", "127.0.0.1", "--port", str(port)],
            env={**os.environ, **env, **version_env},
            stdout=log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    try:
        _wait_ready(url, process, timeout_s)
        answer = smoke_test(url, smoke_request)
        if answer.get("model_version") != model_version:
            raise DeploymentError(f"service serves version {answer.get('model_version')}, not {model_version}")
    except BaseException as exc:
        _terminate(process.pid)
        tail = log_path.read_text(errors="replace")[-1500:]
        raise DeploymentError(f"{exc}\n--- last lines of {log_path} ---\n{tail}") from exc
    return url, process.pid, log_path, answer


def _switch(state_dir: Path, deployment: Deployment) -> None:
    """Write the record and wait until the router routes by it."""
    _write_record(state_dir, deployment)
    deadline = time.monotonic() + 10.0
    expected = {"upstream": deployment.url, "canary": deployment.canary_url or None}
    with _poller(2.0) as client:
        while time.monotonic() < deadline:
            status = client.get(f"{deployment.endpoint}{STATUS_PATH}").json()
            if {key: status.get(key) for key in expected} == expected:
                return
            time.sleep(0.05)
    raise DeploymentError(f"router at {deployment.endpoint} did not switch to {expected} in 10s")


def deploy(
    bento_tag: str,
    model_version: str,
    state_dir: Path,
    env: dict[str, str],
    smoke_request: dict[str, Any] | None = None,
    timeout_s: float = 120.0,
    shadow_version: str = "",
    standby_s: float = STANDBY_S,
) -> tuple[Deployment, dict[str, Any]]:
    """Start ``bento_tag`` serving ``model_version`` on a free port, smoke-test it, switch the router to
    it; the previous version becomes the standby for ``standby_s`` (0: stopped now), and a canary and an
    older standby are stopped.

    The smoke request defaults to the snapshot's example flight. ``shadow_version``, if given, is scored
    beside every single-row request and logged under ``state_dir/shadow``. On any failure the new
    process is stopped and the previous record, and so the traffic, is left untouched.
    """
    shadow_version = "" if shadow_version == model_version else shadow_version
    smoke = smoke_request if smoke_request is not None else _smoke_request(state_dir)
    url, pid, log_path, answer = _start_version(bento_tag, model_version, state_dir, env, smoke, timeout_s,
                                                shadow_version)
    previous = read_record(state_dir)
    deployment = Deployment(bento_tag, model_version, url, pid, str(log_path), time.time(), ensure_router(state_dir),
                            shadow_version=shadow_version, **_standby_of(previous, standby_s))
    _switch(state_dir, deployment)
    if previous is not None:
        for old in (previous.canary_pid, previous.standby_pid, 0 if deployment.standby_pid else previous.pid):
            if old and old != pid:
                _terminate(old)  # graceful: requests it already holds finish before it exits
    log.info("serving %s (model v%s) at %s via %s", bento_tag, model_version, url, deployment.endpoint)
    return deployment, answer


def _standby_of(previous: Deployment | None, standby_s: float) -> dict[str, Any]:
    """The record fields that keep ``previous``'s serving version warm for ``standby_s``."""
    if previous is None or standby_s <= 0 or not is_alive(previous.pid):
        return {}
    return {"standby_version": previous.model_version, "standby_url": previous.url, "standby_pid": previous.pid,
            "standby_shadow_version": previous.shadow_version, "standby_until": time.time() + standby_s}


def _promote_standby(current: Deployment, model_version: str, state_dir: Path) -> Deployment | None:
    """Switch to the warm standby if it serves ``model_version`` and still answers the smoke request."""
    usable = (current.standby_pid and current.standby_version == model_version and not current.canary_pid
              and time.time() < current.standby_until and is_alive(current.standby_pid))
    if not usable:
        return None
    try:
        if smoke_test(current.standby_url, _smoke_request(state_dir)).get("model_version") != model_version:
            return None
    except (DeploymentError, httpx.HTTPError) as exc:  # e.g. a newer snapshot day: start the version fresh
        log.info("standby v%s not reused: %s", model_version, exc)
        return None
    deployment = replace(current, model_version=model_version, url=current.standby_url, pid=current.standby_pid,
                         shadow_version=current.standby_shadow_version, started_at=time.time(),
                         **_standby_of(current, STANDBY_S))
    _switch(state_dir, deployment)
    log.info("serving the warm standby v%s at %s", model_version, deployment.url)
    return deployment


def start_canary(model_version: str, fraction: float, state_dir: Path, env: dict[str, str],
                 timeout_s: float = 120.0) -> Deployment:
    """Serve ``model_version`` beside the current version, from the same bento, for ``fraction`` of requests."""
    if not 0.0 < fraction < 1.0:
        raise ValueError(f"canary fraction must be between 0 and 1, not {fraction}")
    current = _current(state_dir)
    if current.canary_pid:
        raise DeploymentError(f"a canary (v{current.canary_version}) is already running: end it first")
    url, pid, _, _ = _start_version(current.bento_tag, model_version, state_dir, env, _smoke_request(state_dir),
                                    timeout_s)
    deployment = replace(current, canary_version=model_version, canary_url=url, canary_pid=pid,
                         canary_fraction=fraction)
    _switch(state_dir, deployment)
    log.info("canary v%s takes %.0f%% of requests", model_version, 100 * fraction)
    return deployment


def end_canary(state_dir: Path, promote: bool) -> Deployment:
    """Send all traffic to the canary (``promote``) or back to the current version; stop the other one."""
    current = _current(state_dir)
    if not current.canary_pid:
        raise DeploymentError("no canary is running")
    cleared = {"canary_version": "", "canary_url": "", "canary_pid": 0, "canary_fraction": 0.0}
    if promote:
        deployment = replace(current, model_version=current.canary_version, url=current.canary_url,
                             pid=current.canary_pid, shadow_version="", started_at=time.time(), **cleared)
        retired = current.pid
    else:
        deployment = replace(current, **cleared)
        retired = current.canary_pid
    _switch(state_dir, deployment)
    _terminate(retired)
    return deployment


def _current(state_dir: Path) -> Deployment:
    current = read_record(state_dir)
    if current is None:
        raise DeploymentError(f"nothing deployed from {state_dir}: materialize serving/service first")
    return current


def redeploy(model_version: str, state_dir: Path, env: dict[str, str], timeout_s: float = 60.0) -> Deployment:
    """Serve ``model_version`` from the bento already deployed, without a rebuild (the rollback path).

    If the warm standby serves ``model_version``, it is smoke-tested and switched to, and the current
    version becomes the standby. Otherwise the same start, smoke test and switch as :func:`deploy`,
    keeping the current shadow version; a version served before is still exported under
    ``state_dir/models``, so MLflow is not asked again.
    """
    current = _current(state_dir)
    warm = _promote_standby(current, model_version, state_dir)
    if warm is not None:
        return warm
    deployment, _ = deploy(current.bento_tag, model_version, state_dir, env, timeout_s=timeout_s,
                           shadow_version=current.shadow_version)
    return deployment


def stop(state_dir: Path) -> Deployment | None:
    """Stop whatever the record says is running (standby included), and the router; returns what was stopped."""
    current = read_record(state_dir)
    if current is not None:
        for pid in (current.pid, current.canary_pid, current.standby_pid):
            if pid:
                _terminate(pid)
        _write_record(state_dir, None)
    router = state_dir / ROUTER_FILE
    if router.exists():
        _terminate(json.loads(router.read_text())["pid"])
        router.unlink()
    return current
