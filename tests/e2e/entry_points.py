"""The platform's commands as a user runs them: by path from the venv, in a shell whose PATH has no venv."""

import os
import sys
from pathlib import Path

BIN = Path(sys.executable).parent
CLI = str(BIN / "ml-platform")
USER_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"  # a login shell's, nothing activated


def user_env(home: Path, **extra: str) -> dict[str, str]:
    """A new user's environment: their PATH, their HOME, the platform's home; nothing of this test process."""
    assert not any(Path(p, "dbt").exists() for p in USER_PATH.split(":")), "a dbt on the user's PATH hides the bug"
    return {"PATH": USER_PATH, "HOME": os.environ.get("HOME", "/root"), "LANG": "C.UTF-8",
            "ML_PLATFORM_HOME": str(home), **extra}
