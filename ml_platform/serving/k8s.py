"""Kubernetes manifests for the service, generated from the bento tag and the model versions.

A stable Deployment (the champion) and, when a challenger is given, a canary Deployment behind the
same Service: the Service selects both tracks, so the canary's share of requests is its share of
ready pods. An HPA scales the stable track on CPU, a PodDisruptionBudget keeps it serving through
node drains. An init container fetches the pinned model version from MLflow into an emptyDir
(:mod:`ml_platform.serving.fetch_model`), so the serving workers never import MLflow. Pods run as the
bento image's non-root user with a read-only root filesystem; the only writable paths are emptyDirs.
The online feature snapshot ships as a ConfigMap named after its content hash, mounted read-only: a
new serving day changes the pod template, so the pods roll onto it.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from ml_platform import atomic
from ml_platform.serving.app import MODEL_DIR_ENV, ONLINE_FEATURES_ENV
from ml_platform.serving.online import SNAPSHOT_FILE

APP = "flight-delay"
PORT = 3000  # bentoml serve's port inside the image
BENTO_USER = 1034  # the ``bentoml`` user of images built by ``bentoml containerize``
MODELS = "/models"
FEATURES_DIR = "/features"


@dataclass(frozen=True)
class K8sSettings:
    """What differs per cluster; defaults fit a small one."""

    namespace: str = "ml-platform"
    image_registry: str = "registry.local/ml-platform"
    mlflow_secret: str = "mlflow"  # a Secret with key ``tracking-uri``
    min_replicas: int = 2
    max_replicas: int = 10
    canary_replicas: int = 1
    target_cpu_percent: int = 70
    cpu_request: str = "1"
    cpu_limit: str = "2"
    memory_request: str = "512Mi"
    memory_limit: str = "1Gi"


def image_for(bento_tag: str, registry: str) -> str:
    """``bentoml containerize`` names the image after the bento tag ``name:version``."""
    return f"{registry}/{bento_tag}"


def _labels(track: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": APP, "app.kubernetes.io/part-of": "ml-platform", "track": track}


def _online_features(snapshot_json: str, cfg: K8sSettings) -> dict:
    digest = hashlib.sha256(snapshot_json.encode()).hexdigest()[:10]
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": f"{APP}-online-features-{digest}", "namespace": cfg.namespace,
                         "labels": _labels("stable")},
            "data": {SNAPSHOT_FILE: snapshot_json}}


def _deployment(name: str, track: str, image: str, model_version: str, replicas: int, features: str,
                cfg: K8sSettings) -> dict:
    probe = {"httpGet": {"path": "/readyz", "port": "http"}, "periodSeconds": 5, "failureThreshold": 3}
    security = {
        "runAsNonRoot": True,
        "runAsUser": BENTO_USER,
        "runAsGroup": BENTO_USER,
        "readOnlyRootFilesystem": True,
        "allowPrivilegeEscalation": False,
        "capabilities": {"drop": ["ALL"]},
    }
    env = [
        {"name": "ML_PLATFORM_ENV", "value": "k8s"},
        {"name": "ML_PLATFORM_HOME", "value": "/tmp/ml-platform"},
        {"name": "BENTOML_HOME", "value": "/tmp/bentoml"},
        {"name": "BENTOML_DO_NOT_TRACK", "value": "true"},
        {"name": "MLFLOW_DISABLE_TELEMETRY", "value": "true"},
    ]
    fetch = {
        "name": "fetch-model",
        "image": image,
        "command": ["python", "-m", "ml_platform.serving.fetch_model", "--dest", MODELS],
        "env": [*env, {"name": "ML_PLATFORM_MODEL_VERSION", "value": model_version},
                {"name": "MLFLOW_TRACKING_URI",
                 "valueFrom": {"secretKeyRef": {"name": cfg.mlflow_secret, "key": "tracking-uri"}}}],
        "resources": {"requests": {"cpu": "250m", "memory": "512Mi"}, "limits": {"memory": "1Gi"}},
        "securityContext": security,
        "volumeMounts": [{"name": "models", "mountPath": MODELS}, {"name": "tmp", "mountPath": "/tmp"}],
    }
    container = {
        "name": "service",
        "image": image,
        "ports": [{"name": "http", "containerPort": PORT, "protocol": "TCP"}],
        "env": [*env, {"name": MODEL_DIR_ENV, "value": f"{MODELS}/{model_version}"},
                {"name": ONLINE_FEATURES_ENV, "value": f"{FEATURES_DIR}/{SNAPSHOT_FILE}"}],
        "resources": {
            "requests": {"cpu": cfg.cpu_request, "memory": cfg.memory_request},
            "limits": {"cpu": cfg.cpu_limit, "memory": cfg.memory_limit},
        },
        "readinessProbe": probe,
        "startupProbe": {**probe, "failureThreshold": 30},
        "livenessProbe": {"httpGet": {"path": "/livez", "port": "http"}, "periodSeconds": 10},
        "securityContext": security,
        "volumeMounts": [{"name": "models", "mountPath": MODELS, "readOnly": True},
                         {"name": "online-features", "mountPath": FEATURES_DIR, "readOnly": True},
                         {"name": "tmp", "mountPath": "/tmp"}],
    }
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": name, "namespace": cfg.namespace, "labels": _labels(track)},
        "spec": {
            "replicas": replicas,
            "selector": {"matchLabels": _labels(track)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxSurge": 1, "maxUnavailable": 0}},
            "template": {
                "metadata": {"labels": {**_labels(track), "model-version": model_version}},
                "spec": {
                    "securityContext": {"runAsNonRoot": True, "fsGroup": BENTO_USER,
                                        "seccompProfile": {"type": "RuntimeDefault"}},
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": 30,
                    "initContainers": [fetch],
                    "containers": [container],
                    "volumes": [{"name": "models", "emptyDir": {"sizeLimit": "1Gi"}},
                                {"name": "online-features", "configMap": {"name": features}},
                                {"name": "tmp", "emptyDir": {"sizeLimit": "1Gi"}}],
                },
            },
        },
    }


def manifests(bento_tag: str, champion_version: str, snapshot_json: str, challenger_version: str | None = None,
              cfg: K8sSettings = K8sSettings()) -> list[dict[str, Any]]:
    """Deployment + Service + HPA + PDB for the champion, a canary Deployment for the challenger, and the
    online feature snapshot (``snapshot_json``, the file ``serving/online_features`` wrote) they mount."""
    image = image_for(bento_tag, cfg.image_registry)
    features = _online_features(snapshot_json, cfg)
    name = features["metadata"]["name"]
    stable = _deployment(APP, "stable", image, champion_version, cfg.min_replicas, name, cfg)
    objects: list[dict[str, Any]] = [
        stable,
        {
            "apiVersion": "v1",
            "kind": "Service",
            "metadata": {"name": APP, "namespace": cfg.namespace, "labels": _labels("stable")},
            "spec": {
                "type": "ClusterIP",
                "selector": {"app.kubernetes.io/name": APP},  # both tracks: the canary gets its pod share
                "ports": [{"name": "http", "port": 80, "targetPort": "http", "protocol": "TCP"}],
            },
        },
        {
            "apiVersion": "autoscaling/v2",
            "kind": "HorizontalPodAutoscaler",
            "metadata": {"name": APP, "namespace": cfg.namespace, "labels": _labels("stable")},
            "spec": {
                "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": APP},
                "minReplicas": cfg.min_replicas,
                "maxReplicas": cfg.max_replicas,
                "metrics": [{"type": "Resource", "resource": {
                    "name": "cpu", "target": {"type": "Utilization", "averageUtilization": cfg.target_cpu_percent}}}],
            },
        },
        {
            "apiVersion": "policy/v1",
            "kind": "PodDisruptionBudget",
            "metadata": {"name": APP, "namespace": cfg.namespace, "labels": _labels("stable")},
            "spec": {"minAvailable": 1, "selector": {"matchLabels": _labels("stable")}},
        },
    ]
    if challenger_version is not None:
        objects.append(_deployment(f"{APP}-canary", "canary", image, challenger_version, cfg.canary_replicas, name,
                                   cfg))
    return [*objects, features]


def write_manifests(directory: Path, bento_tag: str, champion_version: str, snapshot_json: str,
                    challenger_version: str | None = None, cfg: K8sSettings = K8sSettings()
                    ) -> tuple[Path, list[dict[str, Any]]]:
    """Render :func:`manifests` into ``directory/flight-delay.yaml`` (atomically); returns path and objects."""
    objects = manifests(bento_tag, champion_version, snapshot_json, challenger_version, cfg)
    path = atomic.write_text(directory / f"{APP}.yaml", yaml.safe_dump_all(objects, sort_keys=False))
    return path, objects
