"""The whole loop in-process on every 10th flight: landing -> raw -> dbt -> MLflow -> bentoml serve -> whylogs."""

from datetime import date

import dagster as dg
import httpx
import numpy as np
import pytest

from ml_platform import registry, warehouse
from ml_platform.features import request_for
from ml_platform.serving import deploy
from ml_platform.settings import MODEL_NAME
from ml_platform.specs import SPECS

pytestmark = pytest.mark.slow


def _metadata(result, *path):
    events = [e for e in result.get_asset_materialization_events() if e.asset_key == dg.AssetKey(list(path))]
    return events[-1].materialization.metadata


def test_every_asset_materialized_and_every_check_passed(loop):
    result, _ = loop
    assert result.success
    candidates = [e.partition for e in result.get_asset_materialization_events()
                  if e.asset_key == dg.AssetKey(["models", "candidate"])]
    assert sorted(candidates) == sorted(SPECS)
    materialized = {e.asset_key.to_user_string() for e in result.get_asset_materialization_events()}
    assert {"raw/flights", "features/flight_features", "models/candidate", "models/champion",
            "serving/bento", "serving/service", "serving/k8s_manifests", "serving/batch_predictions",
            "serving/champion_vs_challenger",
            "monitoring/reference_profile", "monitoring/feature_profile", "monitoring/live_performance"} <= materialized
    evaluations = result.get_asset_check_evaluations()
    assert len(evaluations) > 10  # the contracts, the dbt tests, the leakage check, the gate, drift
    assert {"contract", "check_no_leakage", "promotion_gate", "feature_drift"} <= {e.check_name for e in evaluations}
    # drift only warns (autumn does differ from September); nothing that blocks may fail
    assert [e.check_name for e in evaluations if not e.passed and e.severity == dg.AssetCheckSeverity.ERROR] == []


def test_served_prediction_equals_the_offline_one(loop):
    _, settings = loop
    record = deploy.read_record(settings.serving_dir)
    assert record is not None and deploy.is_alive(record.pid)
    frame = warehouse.read_features(settings.duckdb_path, date(2013, 12, 30), date(2013, 12, 31)).head(5)
    model = registry.load_model(MODEL_NAME)
    offline = model.predict_frame(frame)
    online = []
    for row in frame.iter_rows(named=True):
        response = httpx.post(record.predict_url, json={"flight": request_for(row)}, timeout=10)
        assert response.status_code == 200, response.text
        assert response.json()["model_version"] == model.version == record.model_version
        online.append(response.json()["probability"])
    np.testing.assert_allclose(online, offline, rtol=1e-6)


def test_malformed_requests_get_a_4xx_naming_the_field_and_the_service_keeps_serving(loop):
    _, settings = loop
    record = deploy.read_record(settings.serving_dir)
    bad = httpx.post(record.predict_url, json={"flight": {"carrier": "UA", "origin": "EWR", "dest": "ORD",
                                                          "month": 13}}, timeout=10)
    assert 400 <= bad.status_code < 500 and "month" in bad.text
    missing = httpx.post(record.predict_url, json={"flight": {"origin": "EWR"}}, timeout=10)
    assert 400 <= missing.status_code < 500 and "carrier" in missing.text
    ok = httpx.post(record.predict_url, json={"flight": {"carrier": "UA", "origin": "EWR", "dest": "ORD"}},
                    timeout=10)
    assert ok.status_code == 200


def test_prometheus_metrics_count_the_prediction_route(loop):
    _, settings = loop
    record = deploy.read_record(settings.serving_dir)
    metrics = httpx.get(f"{record.url}/metrics", timeout=10).text
    assert 'endpoint="/predict"' in metrics and "bentoml_service_request_duration_seconds" in metrics


def test_profile_and_model_metadata_reach_the_ui(loop):
    result, settings = loop
    candidate = _metadata(result, "models", "candidate")
    assert 0.6 <= candidate["holdout_auc"].value <= 1.0
    champion = _metadata(result, "models", "champion")
    assert champion["decision"].value == "promoted" and "floor" in champion["reason"].value
    profile = _metadata(result, "monitoring", "feature_profile")
    assert profile["dagster/row_count"].value > 1000 and profile["days"].value == 92
    assert len(list((settings.lake / "monitoring" / "profiles").glob("2013-1*.bin"))) == 92
    live = _metadata(result, "monitoring", "live_performance")
    assert 0.55 < live["auc_7d"].value < 1.0 and live["model_version"].value == champion["champion_version"].value
    service = _metadata(result, "serving", "service")
    assert service["endpoint"].value.startswith("http://127.0.0.1:")
