"""The generated manifests validate against the Kubernetes 1.36 schemas and keep the pod locked down."""

import kubernetes_validate
import pytest
import yaml

from ml_platform.serving import k8s

SNAPSHOT = '{"day": "2013-12-31", "tables": [], "example": {}}'


@pytest.fixture(scope="module")
def written(tmp_path_factory):
    return k8s.write_manifests(tmp_path_factory.mktemp("k8s"), "flight_delay:abc123", "4", SNAPSHOT, "5")


def test_every_manifest_validates_strictly(written):
    path, objects = written
    assert list(yaml.safe_load_all(path.read_text())) == objects
    assert [o["kind"] for o in objects] == ["Deployment", "Service", "HorizontalPodAutoscaler",
                                            "PodDisruptionBudget", "Deployment", "ConfigMap"]
    for obj in objects:
        kubernetes_validate.validate(obj, "1.36.0", strict=True)


def test_pods_are_non_root_read_only_with_resource_requests(written):
    _, objects = written
    for deployment in (o for o in objects if o["kind"] == "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True
        for container in (*pod["initContainers"], *pod["containers"]):
            assert container["securityContext"]["readOnlyRootFilesystem"] is True
            assert container["securityContext"]["runAsUser"] != 0
            assert {"cpu", "memory"} <= set(container["resources"]["requests"])
            assert container["image"] == "registry.local/ml-platform/flight_delay:abc123"
        [service] = pod["containers"]
        version = deployment["spec"]["template"]["metadata"]["labels"]["model-version"]
        assert {"name": "ML_PLATFORM_MODEL_DIR", "value": f"/models/{version}"} in service["env"]


def test_the_service_spans_the_canary_and_only_the_stable_track_is_autoscaled(written):
    _, objects = written
    stable, service, hpa, pdb, canary, _ = objects
    versions = {d["metadata"]["name"]: d["spec"]["template"]["metadata"]["labels"]["model-version"]
                for d in (stable, canary)}
    assert versions == {"flight-delay": "4", "flight-delay-canary": "5"}
    for deployment in (stable, canary):
        assert service["spec"]["selector"].items() <= deployment["spec"]["template"]["metadata"]["labels"].items()
    assert hpa["spec"]["scaleTargetRef"]["name"] == stable["metadata"]["name"]
    assert pdb["spec"]["selector"]["matchLabels"] == stable["spec"]["selector"]["matchLabels"]
    assert [o["kind"] for o in k8s.manifests("flight_delay:abc123", "4", SNAPSHOT)][-2:] == [
        "PodDisruptionBudget", "ConfigMap"]  # no canary


def test_pods_mount_the_online_snapshot_from_a_configmap_named_by_its_content(written):
    _, objects = written
    config_map = objects[-1]
    assert config_map["data"] == {"online_features.json": SNAPSHOT}
    for deployment in (o for o in objects if o["kind"] == "Deployment"):
        pod = deployment["spec"]["template"]["spec"]
        assert {"name": "online-features", "configMap": {"name": config_map["metadata"]["name"]}} in pod["volumes"]
        [service] = pod["containers"]
        assert {"name": "ML_PLATFORM_ONLINE_FEATURES", "value": "/features/online_features.json"} in service["env"]
    other_day = k8s.manifests("flight_delay:abc123", "4", SNAPSHOT.replace("12-31", "12-30"))[-1]
    assert other_day["metadata"]["name"] != config_map["metadata"]["name"]  # a new day rolls the pods
