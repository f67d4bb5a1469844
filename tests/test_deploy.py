"""deploy/: every file renders to Kubernetes objects that validate, without a cluster or Docker.

Helm values are checked against the Dagster chart's schema for the keys we set (tests/schemas/README.md
says where it comes from); the run pod the chart's K8sRunLauncher would start is built from those values
with dagster-k8s's own job builder and validated against the Kubernetes 1.36 schema, like the plain
manifests. The Dockerfile is parsed: stages, build argument, non-root user, dbt manifest at build time.
"""

import json
import os
import re
import subprocess
import sys
import time

import jsonschema
import kubernetes
import kubernetes_validate
import pytest
import yaml
from dagster_k8s.job import DagsterK8sJobConfig, UserDefinedDagsterK8sConfig, construct_dagster_k8s_job
from dockerfile_parse import DockerfileParser

from ml_platform.settings import PROJECT_ROOT

DEPLOY = PROJECT_ROOT / "deploy"
K8S_VERSION = "1.36.0"
VALUES = yaml.safe_load((DEPLOY / "helm" / "dagster-values.yaml").read_text())
SCHEMA = json.loads((PROJECT_ROOT / "tests" / "schemas" / "dagster-helm-values.subset.schema.json").read_text())


def _manifests(name: str) -> list[dict]:
    return [doc for doc in yaml.safe_load_all((DEPLOY / "k8s" / name).read_text()) if doc]


def _kinds(docs: list[dict]) -> dict[str, dict]:
    return {doc["kind"]: doc for doc in docs}


@pytest.mark.parametrize("name", ["mlflow.yaml", "platform.yaml"])
def test_manifests_validate_strict(name):
    for doc in _manifests(name):
        kubernetes_validate.validate(doc, K8S_VERSION, strict=True)


def test_mlflow_server_keeps_state_in_postgres_and_the_object_store_and_runs_locked_down():
    docs = _kinds(_manifests("mlflow.yaml"))
    pod = docs["Deployment"]["spec"]["template"]["spec"]
    container = pod["containers"][0]
    args = " ".join(container["args"])
    assert "--serve-artifacts" in args and "--artifacts-destination s3://" in args
    env = {e["name"]: e for e in container["env"]}
    assert env["MLFLOW_BACKEND_STORE_URI"]["valueFrom"]["secretKeyRef"]["key"] == "backend-store-uri"
    assert pod["securityContext"]["runAsNonRoot"] is True
    assert container["securityContext"]["readOnlyRootFilesystem"] is True
    assert {"readinessProbe", "livenessProbe"} <= container.keys() and container["resources"]["limits"]["memory"]
    assert docs["Service"]["spec"]["selector"] == docs["Deployment"]["spec"]["selector"]["matchLabels"]


def test_the_mlflow_server_answers_clients_of_the_configmaps_tracking_uri(tmp_path):
    """The real server, started with the manifest's --allowed-hosts: a client of MLFLOW_TRACKING_URI is answered,
    any other Host is refused (without the flag, MLflow >= 3.5 refuses the Service's name too, /health stays 200)."""
    import httpx

    from ml_platform.serving.deploy import free_port

    args = " ".join(_kinds(_manifests("mlflow.yaml"))["Deployment"]["spec"]["template"]["spec"]["containers"][0]["args"])
    allowed = re.search(r"--allowed-hosts (\S+)", args).group(1)
    uri = _kinds(_manifests("platform.yaml"))["ConfigMap"]["data"]["MLFLOW_TRACKING_URI"]
    port = free_port()
    server = subprocess.Popen(
        [os.path.join(os.path.dirname(sys.executable), "mlflow"), "server", "--host", "127.0.0.1", "--port", str(port),
         "--backend-store-uri", f"sqlite:///{tmp_path / 'mlflow.db'}", "--allowed-hosts", allowed, "--workers", "1"],
        env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"}, stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    search = f"http://127.0.0.1:{port}/api/2.0/mlflow/experiments/search"
    try:
        for _ in range(90):
            try:
                if httpx.get(f"http://127.0.0.1:{port}/health", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                time.sleep(1)
        as_client = httpx.post(search, json={"max_results": 1}, headers={"Host": uri.split("://")[1]}, timeout=10)
        as_stranger = httpx.post(search, json={"max_results": 1}, headers={"Host": "evil.example:5000"}, timeout=10)
    finally:
        server.terminate()
        server.wait(timeout=30)
    assert as_client.status_code == 200, as_client.text
    assert as_stranger.status_code == 403


def test_shipped_environment_switches_the_platform_to_k8s():
    """The ConfigMap's variables (plus the credentials Secret) are all the k8s settings need."""
    env = {**os.environ, **_kinds(_manifests("platform.yaml"))["ConfigMap"]["data"]}
    code = ("import json; from ml_platform.settings import get_settings; s = get_settings(); "
            "print(json.dumps([s.env, s.lake, s.mlflow_tracking_uri, s.dbt_target]))")
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert json.loads(done.stdout) == ["k8s", "s3://ml-platform/lake", "http://mlflow.ml-platform:5000", "k8s"]


def test_helm_values_fit_the_chart_schema():
    jsonschema.Draft7Validator(SCHEMA).validate(VALUES)


@pytest.mark.parametrize("path, bad", [
    (["runLauncher", "config", "k8sRunLauncher", "runK8sConfig"], {"containerConfg": {}}),
    (["dagsterDaemon", "runCoordinator", "config", "queuedRunCoordinator"], {"tagConcurrencyLimit": []}),
    (["runLauncher"], {"type": "K8sRunLauncherr"}),
])
def test_chart_schema_rejects_typos(path, bad):
    broken = json.loads(json.dumps(VALUES))
    node = broken
    for key in path:
        node = node[key]
    node.update(bad)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.Draft7Validator(SCHEMA).validate(broken)


def _run_job(values: dict) -> dict:
    """The Job the chart's K8sRunLauncher starts for a run, built from the values by dagster-k8s."""
    launcher = values["runLauncher"]["config"]["k8sRunLauncher"]
    deployment = values["dagster-user-deployments"]["deployments"][0]
    run_k8s = {re.sub(r"[A-Z]", lambda m: "_" + m[0].lower(), k): v for k, v in launcher["runK8sConfig"].items()}
    job = construct_dagster_k8s_job(
        job_config=DagsterK8sJobConfig(
            job_image=f"{deployment['image']['repository']}:{deployment['image']['tag']}",
            dagster_home="/opt/dagster/dagster_home", image_pull_policy=launcher["imagePullPolicy"],
            env_config_maps=[c["name"] for c in launcher["envConfigMaps"]],
            env_secrets=[s["name"] for s in launcher["envSecrets"]],
            volume_mounts=launcher["volumeMounts"], volumes=launcher["volumes"],
        ),
        args=["dagster", "api", "execute_run"],
        job_name="dagster-run-0123abcd",
        pod_name="dagster-run-0123abcd",
        component="run_worker",
        user_defined_k8s_config=UserDefinedDagsterK8sConfig.from_dict(run_k8s),
    )
    return kubernetes.client.ApiClient().sanitize_for_serialization(job)


def test_run_pod_from_the_values_validates_and_mounts_the_warehouse():
    job = _run_job(VALUES)
    kubernetes_validate.validate(job, K8S_VERSION, strict=True)
    pod = job["spec"]["template"]["spec"]
    container = pod["containers"][0]
    assert pod["securityContext"]["runAsNonRoot"] is True and container["resources"]["limits"]["memory"] == "2Gi"
    assert {"name": "warehouse", "mountPath": "/data/ml-platform"} in container["volumeMounts"]
    claim = next(v for v in pod["volumes"] if v["name"] == "warehouse")["persistentVolumeClaim"]["claimName"]
    assert claim == _kinds(_manifests("platform.yaml"))["PersistentVolumeClaim"]["metadata"]["name"]
    assert {"configMapRef": {"name": "ml-platform-env"}} in container["envFrom"]
    assert job["spec"]["backoffLimit"] == 0


def test_user_code_deployment_container_validates():
    """The code server's Deployment as the chart templates it from our entry (image, args, env, resources)."""
    entry = VALUES["dagster-user-deployments"]["deployments"][0]
    labels = {"app.kubernetes.io/name": entry["name"]}
    deployment = {
        "apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": entry["name"], "labels": labels},
        "spec": {"selector": {"matchLabels": labels}, "template": {"metadata": {"labels": labels}, "spec": {
            "securityContext": entry["podSecurityContext"],
            "containers": [{
                "name": entry["name"], "image": f"{entry['image']['repository']}:{entry['image']['tag']}",
                "imagePullPolicy": entry["image"]["pullPolicy"],
                "args": ["dagster", "api", "grpc", "-h", "0.0.0.0", "-p", str(entry["port"]),
                         *entry["dagsterApiGrpcArgs"]],
                "ports": [{"containerPort": entry["port"]}],
                "envFrom": [{"configMapRef": c} for c in entry["envConfigMaps"]]
                + [{"secretRef": s} for s in entry["envSecrets"]],
                "resources": entry["resources"], "securityContext": entry["securityContext"],
            }]}}},
    }
    kubernetes_validate.validate(deployment, K8S_VERSION, strict=True)


def test_queue_allows_one_gpu_training_run():
    limits = VALUES["dagsterDaemon"]["runCoordinator"]["config"]["queuedRunCoordinator"]["tagConcurrencyLimits"]
    assert {"key": "dagster/partition", "value": "torch_mlp", "limit": 1} in limits
    assert VALUES["additionalInstanceConfig"]["concurrency"]["pools"]["default_limit"] == 1  # the duckdb pool


def test_the_image_installs_the_postgres_storage_the_charts_instance_loads():
    """The chart's dagster.yaml names dagster-postgres's storage (the chart's default): every run and step pod
    imports it, so the image's lock must carry it (it did not: runs would fail at their first event)."""
    import dagster_postgres

    runtime = (PROJECT_ROOT / "requirements" / "runtime.txt").read_text()
    assert re.search(r"^dagster-postgres==", runtime, re.M) and re.search(r"^psycopg2-binary==", runtime, re.M)
    assert "runtime.txt" in (DEPLOY / "Dockerfile").read_text()  # what the image installs
    # the chart writes `storage: postgres: postgres_db: {…}` from its postgresql values
    assert "postgres_db" in dagster_postgres.DagsterPostgresStorage.config_type()
    assert VALUES.get("postgresql", {}).get("enabled", True)  # the chart's Postgres is kept, not replaced


def test_dockerfile_is_multi_stage_non_root_with_variants_and_a_built_manifest():
    parser = DockerfileParser(path=str(DEPLOY / "Dockerfile"))
    instructions = [i for i in parser.structure if i["instruction"] != "COMMENT"]
    froms = [i["value"] for i in instructions if i["instruction"] == "FROM"]
    assert any(v.startswith("base-${VARIANT} AS build") for v in froms)
    assert froms[-1].startswith("base-${VARIANT} AS runtime")
    assert {"base-cpu", "base-cuda"} <= {v.split(" AS ")[-1] for v in froms}
    assert (instructions[0]["instruction"], instructions[0]["value"]) == ("ARG", "VARIANT=cpu")  # before any FROM
    runtime = instructions[max(i for i, ins in enumerate(instructions) if ins["instruction"] == "FROM"):]
    users = [i["value"] for i in runtime if i["instruction"] == "USER"]
    assert users and users[-1].split(":")[0] not in {"root", "0"}
    runs = [i["value"] for i in instructions if i["instruction"] == "RUN"]
    assert any("dbt parse" in r for r in runs)
    copies = [i for i in instructions if i["instruction"] == "COPY"]
    first_code = next(n for n, c in enumerate(copies) if c["value"].startswith("ml_platform"))
    assert copies[0]["value"].startswith("pyproject.toml") and first_code > 0  # dependencies before code
    for copy in copies:  # every path it copies from the context exists (a rename would break the build)
        if "--from=" not in copy["value"]:
            for source in copy["value"].split()[:-1]:
                assert (PROJECT_ROOT / source).exists(), source


def test_dockerignore_keeps_local_state_out_of_the_image():
    ignored = set((PROJECT_ROOT / ".dockerignore").read_text().split())
    assert {".venv", ".ml_platform", "dbt_project/target", ".git"} <= ignored
