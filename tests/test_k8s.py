"""The torch candidate's step pod asks for a GPU however its run was started.

Runs started by a person, a backfill, a sensor or auto-materialization carry different tags, and
none of them carries the asset's `dagster-k8s/config` at run level (dagster #26720, #22865). Each
does carry `dagster/partition`; the Kubernetes Job for the training step is built here with
dagster-k8s's own functions from the run's tags and the asset's op tags, as the platform's executor
does, and validated against the Kubernetes schema. The runs are made by `create_run_for_job` with each
origin's tags, and, in one test, by Dagster's own daemons (declarative automation, a sensor, a backfill)
against a real code server.
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import dagster as dg
import kubernetes
import kubernetes_validate
import pytest
from dagster_k8s.job import DagsterK8sJobConfig, construct_dagster_k8s_job

from orchestration.definitions import defs
from resources.k8s import step_k8s_config

CANDIDATE = dg.AssetKey(["models", "candidate"])
K8S_ENV = {"ML_PLATFORM_ENV": "k8s", "MLFLOW_TRACKING_URI": "http://mlflow.ml-platform:5000",
           "ML_PLATFORM_LAKE_URL": "s3://ml-platform/lake", "AWS_ENDPOINT_URL": "http://minio.ml-platform:9000"}

RUN_ORIGINS = {  # the tags Dagster puts on a run, by who started it (besides the partition)
    "manual": {},
    "backfill": {"dagster/backfill": "abcdefgh"},
    "sensor": {"dagster/sensor_name": "drift_sensor"},
    "auto_materialize": {"dagster/auto_materialize": "true", "dagster/from_automation_condition": "true"},
}


def step_job(run: dg.DagsterRun) -> dict:
    op_tags = defs.resolve_assets_def(CANDIDATE).op.tags
    config = step_k8s_config({**run.tags, **op_tags}, run.tags)
    job = construct_dagster_k8s_job(
        job_config=DagsterK8sJobConfig(job_image="ml-platform:test", dagster_home="/opt/dagster/home",
                                       image_pull_policy="IfNotPresent"),
        args=["dagster", "api", "execute_step"],
        job_name=f"dagster-step-{run.run_id[:8]}",
        pod_name=f"dagster-step-{run.run_id[:8]}",
        component="step_worker",
        user_defined_k8s_config=config,
    )
    return kubernetes.client.ApiClient().sanitize_for_serialization(job)


@pytest.fixture(scope="module")
def instance():
    with dg.instance_for_test() as test_instance:
        yield test_instance


@pytest.mark.parametrize("origin", sorted(RUN_ORIGINS))
@pytest.mark.parametrize("spec", ["torch_mlp", "lightgbm"])
def test_training_step_job_has_the_gpu_of_its_spec(instance, origin, spec):
    job_def = defs.resolve_implicit_job_def_def_for_assets([CANDIDATE])
    run = instance.create_run_for_job(job_def=job_def, tags={**RUN_ORIGINS[origin], "dagster/partition": spec},
                                      asset_selection=frozenset({CANDIDATE}))
    assert "dagster-k8s/config" not in run.tags  # the run itself does not carry it: the reported bug
    job = step_job(run)
    kubernetes_validate.validate(job, "1.36.0", strict=True)
    pod = job["spec"]["template"]["spec"]
    resources = pod["containers"][0].get("resources", {})
    if spec == "torch_mlp":
        assert resources["limits"]["nvidia.com/gpu"] == "1"
        assert resources["requests"]["nvidia.com/gpu"] == "1"
        assert pod["nodeSelector"] == {"ml-platform/pool": "gpu"}
        assert pod["tolerations"][0]["key"] == "nvidia.com/gpu"
    else:
        assert "nvidia.com/gpu" not in str(resources) and "nodeSelector" not in pod


def _daemon_runs() -> list[dg.DagsterRun]:
    """Runs of models/candidate created by Dagster's own daemons: declarative automation, a sensor, a backfill.

    Against a real code server (tests/k8s_run_origins.py); the run launcher only records what it is given.
    """
    import logging
    import time

    from dagster._core.execution.backfill import PartitionBackfill
    from dagster._core.test_utils import create_test_daemon_workspace_context, instance_for_test
    from dagster._core.utils import make_new_backfill_id
    from dagster._core.workspace.load_target import ModuleTarget
    from dagster._daemon.asset_daemon import AssetDaemon
    from dagster._daemon.backfill import execute_backfill_iteration
    from dagster._daemon.sensor import execute_sensor_iteration

    from ml_platform.settings import PROJECT_ROOT
    from tests.k8s_run_origins import defs as origins

    log = logging.getLogger("k8s-run-origins")
    recording = {"run_launcher": {"module": "dagster._core.test_utils", "class": "MockedRunLauncher"}}
    with instance_for_test(overrides=recording) as daemon_instance:
        target = ModuleTarget(module_name="tests.k8s_run_origins", attribute=None,
                              working_directory=str(PROJECT_ROOT), location_name="k8s_run_origins")
        with create_test_daemon_workspace_context(target, daemon_instance) as workspace:
            list(execute_sensor_iteration(workspace, log, None, None))  # also registers the automation sensor
            AssetDaemon(settings=daemon_instance.get_settings("auto_materialize"), pre_sensor_interval_seconds=0
                        )._run_iteration_impl(workspace, threadpool_executor=None, amp_tick_futures={},
                                              debug_crash_flags={})
            daemon_instance.add_backfill(PartitionBackfill.from_asset_partitions(
                backfill_id=make_new_backfill_id(), asset_graph=origins.resolve_asset_graph(),
                partition_names=["torch_mlp", "lightgbm"], asset_selection=[CANDIDATE],
                backfill_timestamp=time.time(), tags={}, dynamic_partitions_store=daemon_instance,
                all_partitions=False, title=None, description=None, run_config=None))
            list(execute_backfill_iteration(workspace, log))
        return list(daemon_instance.get_runs())


def _origin(run: dg.DagsterRun) -> str:
    # automation asks for both specs at once, which Dagster submits as a backfill: its runs carry both tags
    if run.tags.get("dagster/from_automation_condition") == "true":
        return "automation"
    return "backfill" if "dagster/backfill" in run.tags else "sensor"


def test_runs_the_daemons_create_get_the_gpu_of_their_spec():
    """Automation, sensor and backfill runs: none carries dagster-k8s/config, each gets its spec's pod."""
    runs = _daemon_runs()
    made = sorted((_origin(run), run.tags["dagster/partition"]) for run in runs)
    assert made == [("automation", "lightgbm"), ("automation", "torch_mlp"), ("backfill", "lightgbm"),
                    ("backfill", "torch_mlp"), ("sensor", "torch_mlp")]
    for run in runs:
        assert "dagster-k8s/config" not in run.tags
        job = step_job(run)
        kubernetes_validate.validate(job, "1.36.0", strict=True)
        limits = job["spec"]["template"]["spec"]["containers"][0].get("resources", {}).get("limits", {})
        assert (limits.get("nvidia.com/gpu") == "1") == (run.tags["dagster/partition"] == "torch_mlp"), run.tags


def test_k8s_environment_swaps_executor_lake_mlflow_and_dbt_target():
    """One switch: the same code location loads with the cluster's executor, lake, tracking server, dbt target."""
    code = """if True:
        import dagster as dg, json
        from orchestration.definitions import defs, settings
        dg.Definitions.validate_loadable(defs)
        r = defs.resources
        print(json.dumps({"executor": defs.executor.name, "lake": r["lake_store"].root, "target": r["dbt"].target,
                          "mlflow": settings.mlflow_tracking_uri, "artifacts": settings.mlflow_artifact_root}))"""
    done = subprocess.run([sys.executable, "-c", code], env={**os.environ, **K8S_ENV}, capture_output=True,
                          text=True, check=True)
    assert json.loads(done.stdout.strip().splitlines()[-1]) == {
        "executor": "k8s_partition_aware", "lake": "s3://ml-platform/lake", "mlflow": "http://mlflow.ml-platform:5000",
        "artifacts": "mlflow-artifacts:/flight_delay", "target": "k8s"}


def test_k8s_environment_without_its_servers_is_a_clear_error():
    env = {**os.environ, "ML_PLATFORM_ENV": "k8s", "MLFLOW_TRACKING_URI": "http://mlflow:5000"}
    env.pop("ML_PLATFORM_LAKE_URL", None)
    done = subprocess.run([sys.executable, "-c", "import orchestration.definitions"], env=env, capture_output=True,
                          text=True, check=False)
    assert done.returncode != 0 and "ML_PLATFORM_ENV=k8s needs ML_PLATFORM_LAKE_URL" in done.stderr


def test_shipped_executor_run_config_fits_the_executor_schema():
    import yaml

    from ml_platform.settings import PROJECT_ROOT
    from resources.k8s import partition_aware_k8s_job_executor

    @dg.asset
    def probe() -> None: ...

    job = dg.Definitions(
        assets=[probe], jobs=[dg.define_asset_job("k8s_probe", executor_def=partition_aware_k8s_job_executor)]
    ).resolve_job_def("k8s_probe")
    config = yaml.safe_load((PROJECT_ROOT / "deploy" / "k8s" / "executor.yaml").read_text())
    dg.validate_run_config(job, config)  # raises DagsterInvalidConfigError naming the bad key
    config["execution"]["config"]["max_concurent"] = 4
    with pytest.raises(dg.DagsterInvalidConfigError, match="max_concurent"):
        dg.validate_run_config(job, config)


def test_dbt_k8s_target_renders_with_the_object_store_credentials(tmp_path):
    """The cluster's dbt output (DuckDB + httpfs secret) parses; without credentials dbt names the missing one."""
    from ml_platform.settings import DBT_PROJECT_DIR

    env = {**os.environ, **K8S_ENV, "ML_PLATFORM_DBT_TARGET": "k8s", "AWS_ACCESS_KEY_ID": "k",
           "AWS_SECRET_ACCESS_KEY": "s", "ML_PLATFORM_DUCKDB": str(tmp_path / "w.duckdb")}
    dbt = [str(Path(sys.executable).parent / "dbt"), "parse", "--profiles-dir", ".", "--target-path", str(tmp_path)]
    done = subprocess.run(dbt, cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True, check=False)
    assert done.returncode == 0, done.stdout[-2000:]
    assert (tmp_path / "manifest.json").exists()
    env.pop("AWS_ACCESS_KEY_ID")
    done = subprocess.run(dbt, cwd=DBT_PROJECT_DIR, env=env, capture_output=True, text=True, check=False)
    assert done.returncode != 0 and "AWS_ACCESS_KEY_ID" in done.stdout
