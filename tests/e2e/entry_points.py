"""The platform's commands as a user runs them: by path from the venv, in a shell whose PATH has no venv."""

import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from ml_platform.settings import PROJECT_ROOT

BIN = Path(sys.executable).parent
CLI = str(BIN / "ml-platform")
USER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # a login shell's, nothing activated


def user_env(home: Path, **extra: str) -> dict[str, str]:
    """A new user's environment: their PATH, their HOME, the platform's home; nothing of this test process."""
    assert not any(Path(p, "dbt").exists() for p in USER_PATH.split(":")), "a dbt on the user's PATH hides the bug"
    return {"PATH": USER_PATH, "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8",
            "ML_PLATFORM_HOME": str(home), **extra}


@contextmanager
def started(args: list[str], env: dict[str, str], log: Path) -> Iterator[subprocess.Popen]:
    """A long-running command in its own process group, output to ``log``; the whole group stopped after."""
    process = subprocess.Popen(args, env=env, cwd=PROJECT_ROOT, stdout=log.open("wb"), stderr=subprocess.STDOUT,
                               start_new_session=True)
    try:
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)  # e.g. dagster dev stops its webserver, daemon and code server
        try:
            process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
