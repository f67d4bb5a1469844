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
import yaml
from dagster_k8s.job import construct_dagster_k8s_job

from ml_platform.settings import PROJECT_ROOT
from orchestration.definitions import defs
from resources.k8s import PartitionAwareK8sStepHandler, partition_aware_k8s_job_executor

CANDIDATE = dg.AssetKey(["models", "candidate"])
K8S_ENV = {"ML_PLATFORM_ENV": "k8s", "MLFLOW_TRACKING_URI": "http://mlflow.ml-platform:5000",
           "ML_PLATFORM_LAKE_URL": "s3://ml-platform/lake", "AWS_ENDPOINT_URL": "http://minio.ml-platform:9000"}

RUN_ORIGINS = {  # the tags Dagster puts on a run, by who started it (besides the partition)
    "manual": {},
    "backfill": {"dagster/backfill": "abcdefgh"},
    "sensor": {"dagster/sensor_name": "drift_sensor"},
    "auto_materialize": {"dagster/auto_materialize": "true", "dagster/from_automation_condition": "true"},
}


def step_handler(instance: dg.DagsterInstance, job_def: dg.JobDefinition, tmp_kubeconfig: Path):
    """The step handler the platform's executor builds, from the shipped executor's own creation function."""
    from dagster._config import process_config, resolve_to_config_type
    from dagster._core.definitions.job_base import InMemoryJob
    from dagster._core.executor.init import InitExecutorContext

    config = process_config(resolve_to_config_type(partition_aware_k8s_job_executor.config_schema.config_type),
                            {"job_image": "ml-platform:test", "image_pull_policy": "IfNotPresent",
                             "load_incluster_config": False, "kubeconfig_file": str(tmp_kubeconfig)})
    assert config.success, config.errors
    executor = partition_aware_k8s_job_executor.executor_creation_fn(InitExecutorContext(
        job=InMemoryJob(job_def), executor_def=partition_aware_k8s_job_executor, executor_config=config.value, instance=instance))
    handler = executor._step_handler  # noqa: SLF001 - which handler runs the steps is what this checks
    assert type(handler) is PartitionAwareK8sStepHandler
    return handler


def step_job(run: dg.DagsterRun, instance: dg.DagsterInstance, kubeconfig: Path) -> dict:
    """The Kubernetes Job of the run's training step, as the executor's step handler resolves it.

    The handler's own container context (dagster-k8s's resolution plus the partition's config), turned
    into the Job by the calls ``K8sStepHandler.launch_step`` makes (``get_k8s_job_config``,
    ``construct_dagster_k8s_job``); launch_step itself would also submit it to a cluster.
    """
    from dagster._core.definitions.reconstruct import ReconstructableRepository
    from dagster._core.execution.api import create_execution_plan
    from dagster._core.execution.context.system import PlanData, PlanOrchestrationContext
    from dagster._core.execution.context_creation_job import create_context_free_log_manager
    from dagster._core.execution.retries import RetryMode
    from dagster._core.executor.step_delegating import StepHandlerContext
    from dagster._grpc.types import ExecuteStepArgs

    job_def = defs.resolve_implicit_job_def_def_for_assets([CANDIDATE]).get_subset(asset_selection={CANDIDATE})
    handler = step_handler(instance, job_def, kubeconfig)
    plan = create_execution_plan(job_def)
    plan_context = PlanOrchestrationContext(
        plan_data=PlanData(job=job_def, dagster_run=run, instance=instance, execution_plan=plan, raise_on_error=True,
                           retry_mode=RetryMode.DISABLED),
        log_manager=create_context_free_log_manager(instance, run), executor=None, output_capture=None)
    origin = ReconstructableRepository.for_module("orchestration.definitions", "defs", str(PROJECT_ROOT)
                                                   ).get_reconstructable_job(job_def.name).get_python_origin()
    context = StepHandlerContext(instance=instance, plan_context=plan_context, steps=plan.steps, dagster_run=run,
                                 execute_step_args=ExecuteStepArgs(origin, run.run_id, ["models__candidate"],
                                                                   print_serialized_events=False))
    container_context = handler._get_container_context(context)  # noqa: SLF001 - the method launch_step calls
    job = construct_dagster_k8s_job(
        job_config=container_context.get_k8s_job_config("ml-platform:test", instance.run_launcher),
        args=context.execute_step_args.get_command_args(skip_serialized_namedtuple=True),
        job_name=f"dagster-step-{run.run_id[:8]}",
        pod_name=f"dagster-step-{run.run_id[:8]}",
        component="step_worker",
        user_defined_k8s_config=container_context.run_k8s_config,
    )
    return kubernetes.client.ApiClient().sanitize_for_serialization(job)


@pytest.fixture(scope="module")
def kubeconfig(tmp_path_factory) -> Path:
    """A kubeconfig naming a cluster nobody calls: the handler loads it, nothing connects."""
    path = tmp_path_factory.mktemp("kube") / "config"
    path.write_text(yaml.safe_dump({
        "apiVersion": "v1", "kind": "Config", "current-context": "test",
        "clusters": [{"name": "test", "cluster": {"server": "https://127.0.0.1:6443"}}],
        "users": [{"name": "test", "user": {"token": "unused"}}],
        "contexts": [{"name": "test", "context": {"cluster": "test", "user": "test"}}]}))
    return path


@pytest.fixture(scope="module")
def instance(kubeconfig):
    """An instance with dagster-k8s's run launcher, as the Helm chart configures it (it connects to nothing here)."""
    launcher = {"module": "dagster_k8s", "class": "K8sRunLauncher", "config": {
        "load_incluster_config": False, "kubeconfig_file": str(kubeconfig), "job_namespace": "ml-platform",
        "instance_config_map": "dagster-instance", "dagster_home": "/opt/dagster/home",
        "service_account_name": "dagster", "image_pull_policy": "IfNotPresent"}}
    with dg.instance_for_test(overrides={"run_launcher": launcher}) as test_instance:
        yield test_instance


@pytest.mark.parametrize("origin", sorted(RUN_ORIGINS))
@pytest.mark.parametrize("spec", ["torch_mlp", "lightgbm"])
def test_training_step_job_has_the_gpu_of_its_spec(instance, kubeconfig, origin, spec):
    job_def = defs.resolve_implicit_job_def_def_for_assets([CANDIDATE])
    run = instance.create_run_for_job(job_def=job_def, tags={**RUN_ORIGINS[origin], "dagster/partition": spec},
                                      asset_selection=frozenset({CANDIDATE}))
    assert "dagster-k8s/config" not in run.tags  # the run itself does not carry it: the reported bug
    job = step_job(run, instance, kubeconfig)
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


def test_runs_the_daemons_create_get_the_gpu_of_their_spec(instance, kubeconfig):
    """Automation, sensor and backfill runs: none carries dagster-k8s/config, each gets its spec's pod."""
    runs = _daemon_runs()
    made = sorted((_origin(run), run.tags["dagster/partition"]) for run in runs)
    assert made == [("automation", "lightgbm"), ("automation", "torch_mlp"), ("backfill", "lightgbm"),
                    ("backfill", "torch_mlp"), ("sensor", "torch_mlp")]
    for run in runs:
        assert "dagster-k8s/config" not in run.tags
        job = step_job(run, instance, kubeconfig)
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


def test_the_step_handler_hook_the_platform_overrides_is_still_the_one_launch_step_uses():
    """Guard for resources/k8s.py's reach into dagster-k8s (docs/upgrading.md): fails when an upgrade moves it."""
    import inspect

    from dagster_k8s.executor import K8sStepHandler

    assert PartitionAwareK8sStepHandler.__bases__ == (K8sStepHandler,)
    assert list(inspect.signature(K8sStepHandler._get_container_context).parameters) == [  # noqa: SLF001
        "self", "step_handler_context"]
    assert "self._get_container_context(step_handler_context)" in inspect.getsource(K8sStepHandler.launch_step)
