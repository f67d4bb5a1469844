"""dagster-dbt's CLI resource without the fixed costs this project does not need.

Measured per `dbt build` on 2 cores (dagster-dbt 0.29): `dbt --version` in a subprocess (3.0 s), an
in-process dbt adapter that dagster-dbt opens for row counts and column metadata (2.2 s; we count rows
ourselves once dbt has released DuckDB), and a full re-parse because every invocation gets a fresh target
folder (2.7 s). A daily run paid all three on every partition window.
"""

import contextlib
import os
from collections.abc import Iterator, Mapping, Sequence
from functools import cached_property
from importlib import metadata
from pathlib import Path

import dagster as dg
from dagster_dbt import DbtCliInvocation, DbtCliResource
from packaging import version

WINDOW_ENV = ("ML_PLATFORM_WINDOW_START", "ML_PLATFORM_WINDOW_END")  # read by dbt_project/macros/partition_window.sql


class PlatformDbtResource(DbtCliResource):
    """Runs dbt-core from this environment, keeping partial parsing between runs.

    ``target_root`` holds one target folder per dbt asset, so ``partial_parse.msgpack`` survives from run
    to run; the partition window travels in environment variables, which dbt re-parses file by file
    (``--vars`` would force a full parse whenever the window moves).
    """

    target_root: str

    @cached_property
    def _cli_version(self) -> version.Version:
        # the executable is this environment's dbt-core, so its version is the installed package's
        return version.parse(metadata.version("dbt-core"))

    def _initialize_dbt_core_adapter(self, args: Sequence[str]):
        return None  # only dagster-dbt's fetch_row_counts/fetch_column_metadata use it; we do not

    def build(self, context: dg.AssetExecutionContext, args: Sequence[str] = (),
              env: Mapping[str, str] | None = None) -> DbtCliInvocation:
        """``dbt build`` for the asset's selection, in the asset's own target folder."""
        target = Path(self.target_root) / context.op_execution_context.op.name
        with _environment(env or {}):  # dagster-dbt hands the dbt process a copy of os.environ
            return self.cli(["build", *args], context=context, target_path=target)


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
