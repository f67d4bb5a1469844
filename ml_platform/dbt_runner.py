"""dbt-core in this process, through dbt's programmatic API (``dbtRunner``).

A ``dbt`` subprocess pays for its imports, the adapter's registration and a partial parse on every
invocation: 4-7 s per daily step on 2 cores around 1 s of SQL. Here dbt is imported once per process,
the project is parsed once per process and target folder (dbt's documented "reusing objects"), and each
invocation only compiles and runs. dbt keeps its flags and adapters in globals, so invocations take
turns, and dbt-duckdb's database is closed after each one: DuckDB has one writer per file, and the next
writer may be another process.
"""

import os
import threading
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

_TURN = threading.Lock()
_QUIET = ("--log-level", "none", "--no-send-anonymous-usage-stats")  # events reach the caller, not stdout
_PARSED: dict[tuple[str, ...], tuple[Any, dict[str, str]]] = {}  # (folders, profile args) -> (manifest, env it read)


@dataclass(frozen=True)
class DbtRun:
    args: list[str]
    success: bool
    events: list[dict[str, Any]]  # dbt's structured events as its JSON log writes them, info level and up
    parsed: bool  # whether this invocation had to parse the project
    error: str | None = None  # an exception dbt raised instead of reporting a result


def invoke(args: Sequence[str], *, project_dir: Path, profiles_dir: Path, target_path: Path,
           profile_args: Sequence[str] = (), per_run_env: Collection[str] = ()) -> DbtRun:
    """Run one dbt command (``["build", "--select", ...]``) against the project, in this process.

    ``per_run_env`` names environment variables that change between invocations without changing the
    project (a partition window read at compile time); any other variable the parse read that has changed
    since means a fresh parse.
    """
    from dbt.cli.main import dbtRunner
    from dbt_common.events.functions import msg_to_dict

    folders = ["--project-dir", str(project_dir), "--profiles-dir", str(profiles_dir),
               "--target-path", str(target_path), "--log-path", str(target_path), *profile_args]
    events: list[dict[str, Any]] = []

    def keep(message) -> None:
        if message.info.level != "debug":
            events.append(msg_to_dict(message))

    with _TURN:
        try:
            manifest = _reusable_manifest(folders, per_run_env)
            if parsed := manifest is None:
                parse = dbtRunner(callbacks=[keep]).invoke(["parse", *folders, *_QUIET])
                if not parse.success:
                    return DbtRun(["dbt", "parse", *folders], False, events, parsed, _error(parse))
                manifest = parse.result
                _PARSED[tuple(folders)] = manifest, _env_read(manifest, per_run_env)
            result = dbtRunner(manifest=manifest, callbacks=[keep]).invoke([*args, *folders, *_QUIET])
        finally:
            _release_duckdb()
    return DbtRun(["dbt", *args, *folders], bool(result.success), events, parsed, _error(result))


def _reusable_manifest(folders: list[str], per_run_env: Collection[str]):
    """The project as parsed for these folders, unless an environment variable the parse read has changed."""
    manifest, read = _PARSED.get(tuple(folders), (None, None))
    return manifest if manifest is not None and read == _env_read(manifest, per_run_env) else None


def _env_read(manifest, per_run_env: Collection[str]) -> dict[str, str]:
    from dbt.constants import DEFAULT_ENV_PLACEHOLDER

    return {name: os.environ.get(name, DEFAULT_ENV_PLACEHOLDER) for name in manifest.env_vars if name not in per_run_env}


def _error(result) -> str | None:
    """What dbt raised, as text; an interrupt (a cancelled run, Ctrl-C) goes on up instead of being a dbt error."""
    if result.exception is None:
        return None
    if not isinstance(result.exception, Exception):  # dbtRunner catches BaseException
        raise result.exception
    return f"{type(result.exception).__name__}: {result.exception}"


def _release_duckdb() -> None:
    """Close the database dbt-duckdb keeps open for the life of the process (it closes it only at exit)."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    try:
        environment = DuckDBConnectionManager.env()
    except Exception:  # noqa: BLE001 - dbt-duckdb raises a bare Exception when nothing was opened
        return
    DuckDBConnectionManager.close_all_connections()
    environment.close()
