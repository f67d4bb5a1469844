"""Build a bento and run it locally with ``bentoml serve``: start new, smoke-test, switch, stop old.

The deployment record (``deployment.json``) is the one place that says what is serving; the
old version keeps serving until the new one has answered a smoke request.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import httpx

log = logging.getLogger(__name__)

BENTOML = str(Path(sys.executable).parent / "bentoml")


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

    @property
    def predict_url(self) -> str:
        return f"{self.url}/predict"


def build_bento(project_root: Path, env: dict[str, str], version: str | None = None) -> str:
    """``bentoml build`` from the repo root; returns the bento tag (``name:version``)."""
    args = [BENTOML, "build", str(project_root), "-f", str(project_root / "bentofile.yaml"), "-o", "tag"]
    if version:
        args += ["--version", version]
    done = subprocess.run(args, env={**os.environ, **env}, capture_output=True, text=True, check=False)
    if done.returncode != 0:
        raise RuntimeError(f"bentoml build failed ({done.returncode}): {done.stderr.strip()[-2000:]}")
    tags = [line.split("__tag__:", 1)[1] for line in done.stdout.splitlines() if "__tag__:" in line]
    if not tags:
        raise RuntimeError(f"bentoml build printed no tag: {done.stdout[-1000:]}")
    return tags[-1].strip()


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
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(asdict(deployment), indent=2))
    os.replace(tmp, path)


def is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _wait_ready(url: str, process: subprocess.Popen, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise DeploymentError(f"bentoml serve exited with {process.returncode} before it was ready")
        try:
            if httpx.get(f"{url}/readyz", timeout=2.0).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.5)
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


def deploy(
    bento_tag: str,
    model_version: str,
    state_dir: Path,
    env: dict[str, str],
    smoke_request: dict[str, Any],
    timeout_s: float = 120.0,
) -> tuple[Deployment, dict[str, Any]]:
    """Start ``bento_tag`` on a free port, smoke-test it, record it, then stop the previous one.

    On any failure the new process is stopped and the previous record is left untouched.
    """
    state_dir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    log_path = state_dir / f"serve-{port}.log"
    child_env = {**os.environ, **env, "ML_PLATFORM_MODEL_VERSION": model_version}
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(
            [BENTOML, "serve", bento_tag, "--host", "127.0.0.1", "--port", str(port)],
            env=child_env,
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

    previous = read_record(state_dir)
    deployment = Deployment(bento_tag, model_version, url, process.pid, str(log_path), time.time())
    _write_record(state_dir, deployment)
    if previous is not None and previous.pid != process.pid:
        _terminate(previous.pid)
    log.info("serving %s (model v%s) at %s", bento_tag, model_version, url)
    return deployment, answer


def stop(state_dir: Path) -> Deployment | None:
    """Stop whatever the record says is serving; returns what was stopped."""
    current = read_record(state_dir)
    if current is not None:
        _terminate(current.pid)
        _write_record(state_dir, None)
    return current
