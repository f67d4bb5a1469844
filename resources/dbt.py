"""dagster-dbt's resource, with dbt run in the step's own process.

``build`` keeps everything dagster-dbt does around a dbt command (the asset's selection, dbt events turned
into materializations and asset checks, dbt's errors in the step's failure) and replaces only the
``dbt`` subprocess by ``ml_platform.dbt_runner``: measured on 2 cores, a daily step's dbt went from 4-7 s
to about 1 s. Row counts are ours (``WarehouseResource``), read once dbt has released DuckDB.
"""

import contextlib
import io
import json
import os
import sys
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from functools import cached_property
from importlib import metadata
from pathlib import Path

import dagster as dg
from dagster_dbt import DagsterDbtTranslator, DbtCliInvocation, DbtCliResource, DbtProject, DbtProjectPreparer
from dagster_dbt.asset_utils import get_updated_cli_invocation_params_for_context
from filelock import FileLock
from packaging import version

from ml_platform import dbt_runner

WINDOW_ENV = ("ML_PLATFORM_WINDOW_START", "ML_PLATFORM_WINDOW_END")  # read by dbt_project/macros/partition_window.sql
DBT_EXECUTABLE = str(Path(sys.executable).parent / "dbt")  # this environment's dbt: the venv need not be on PATH


class EnvironmentDbtPreparer(DbtProjectPreparer):
    """Under ``dagster dev``, re-parse the project with this environment's dbt when its files changed.

    dagster-dbt's default preparer runs ``dbt`` from PATH, which has no dbt when the venv is not activated
    (``make dev``, or ``.venv/bin/dagster dev``): the code location then fails to load. It also parses on
    every load, and under ``dagster dev`` every run's process loads the code location again.
    """

    def prepare_if_dev(self, project: DbtProject) -> None:
        if self.using_dagster_dev() and manifest_is_stale(project):
            self.prepare(project)

    def prepare(self, project: DbtProject) -> None:
        with FileLock(project.manifest_path.with_suffix(".lock")):  # runs load the code location side by side
            if manifest_is_stale(project):
                DbtCliResource(project_dir=project, dbt_executable=DBT_EXECUTABLE).cli(
                    ["parse", "--quiet"], target_path=project.target_path).wait()


def manifest_is_stale(project: DbtProject) -> bool:
    """Whether a model, test, macro or config file is newer than the manifest (as the Makefile decides)."""
    if not project.manifest_path.exists():
        return True
    built = project.manifest_path.stat().st_mtime
    skip = {project.project_dir / project.target_path, project.project_dir / "logs"}
    return any(path.stat().st_mtime > built for suffix in ("sql", "yml", "csv")
               for path in project.project_dir.rglob(f"*.{suffix}") if not skip.intersection(path.parents))


class PlatformDbtResource(DbtCliResource):
    """dbt-core from this environment, in this process, keeping one target folder per dbt asset.

    The partition window travels in environment variables that the models read at compile time, so one
    parse serves every window (``--vars`` would force a full parse whenever the window moves).
    """

    target_root: str

    @cached_property
    def _cli_version(self) -> version.Version:
        # dbt runs from this environment's dbt-core: its version is the installed package's
        return version.parse(metadata.version("dbt-core"))

    def build(self, context: dg.AssetExecutionContext, env: Mapping[str, str] | None = None) -> DbtCliInvocation:
        """``dbt build`` for the asset's selection, in the asset's own target folder."""
        params = get_updated_cli_invocation_params_for_context(context, {}, DagsterDbtTranslator())
        project_dir = Path(params.dbt_project.project_dir if params.dbt_project else self.project_dir)
        target = Path(self.target_root) / context.op_execution_context.op.name
        indirect = ["--indirect-selection", params.indirect_selection] if params.indirect_selection else []
        with _environment(env or {}):
            run = dbt_runner.invoke(
                [*self.global_config_flags, "build", *params.selection_args, *indirect],
                project_dir=project_dir, profiles_dir=Path(self.profiles_dir or project_dir), target_path=target,
                profile_args=[*(["--profile", self.profile] if self.profile else []),
                              *(["--target", self.target] if self.target else [])],
                per_run_env=WINDOW_ENV)
        return DbtCliInvocation(process=FinishedDbt.of(run), manifest=params.manifest,
                                dagster_dbt_translator=params.dagster_dbt_translator, project_dir=project_dir,
                                target_path=target, raise_on_error=True, cli_version=self._cli_version,
                                project=params.dbt_project, context=context)


@dataclass
class FinishedDbt:
    """A dbt run that happened in this process, shaped as the finished ``dbt`` process dagster-dbt reads."""

    args: list[str]
    returncode: int
    stdout: io.BytesIO  # dbt's JSON log, one event per line

    @classmethod
    def of(cls, run: dbt_runner.DbtRun) -> "FinishedDbt":
        events = list(run.events)
        if run.error and not any(event["info"]["level"] == "error" for event in events):  # dbt raised, said nothing
            events.append({"info": {"name": "MainEncounteredError", "level": "error", "msg": run.error}, "data": {}})
        lines = "".join(json.dumps(event) + "\n" for event in events).encode()
        return cls(run.args, 0 if run.success else (2 if run.error else 1), io.BytesIO(lines))

    def wait(self, timeout: float | None = None) -> int:
        return self.returncode

    def send_signal(self, signal: int) -> None:
        """Nothing to interrupt: the run is over."""


@contextlib.contextmanager
def _environment(values: Mapping[str, str]) -> Iterator[None]:
    saved = {name: os.environ.get(name) for name in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for name, value in saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value


def window_env(first, last) -> dict[str, str]:
    """The partition window as the dbt project reads it."""
    return dict(zip(WINDOW_ENV, (first.isoformat(), last.isoformat()), strict=True))
