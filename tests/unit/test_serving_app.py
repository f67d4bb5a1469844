"""The prediction endpoints in-process: parity with offline scoring, micro-batching, shadow, and bad input."""

import asyncio
import json
from datetime import timedelta

import httpx
import numpy as np
import polars as pl
import pytest
from starlette.testclient import TestClient

from ml_platform import online_snapshot
from ml_platform.features import FEATURES, Feature, FeatureContract, request_for
from ml_platform.serving.app import MAX_SINGLE_BYTES, Endpoints, create_app
from ml_platform.serving.online import scheduled_request
from ml_platform.serving.schemas import MAX_BATCH_ROWS, request_models, scheduled_models
from ml_platform.serving.scoring import ServedModel
from ml_platform.serving.shadow import Shadow
from ml_platform.specs import SPECS
from ml_platform.training import fit_candidate
from tests.unit.conftest import ONLINE_DAY
from tests.unit.test_training import WINDOW


@pytest.fixture(scope="module")
def served(feature_frame):
    train, valid = WINDOW.split(feature_frame)
    model = fit_candidate(SPECS["lightgbm"], train, valid, params={"max_rounds": 30})
    return ServedModel("flight_delay", "7", model.predictor, model.contract), valid


@pytest.fixture(scope="module")
def online(online_warehouse):
    return online_snapshot.build(online_warehouse[0], ONLINE_DAY)


@pytest.fixture(scope="module")
def client(served, online):
    model, _ = served
    return TestClient(create_app(Endpoints(model, online)), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def features(served):
    """A full-feature request (``/predict_features``)."""
    return request_for(served[1].row(0, named=True))


@pytest.fixture(scope="module")
def scheduled(online_warehouse, online):
    """Every flight of the snapshot's day as known at schedule time (``/predict``)."""
    _, flights = online_warehouse
    day = flights.filter(pl.col("flight_date") == ONLINE_DAY)
    return [scheduled_request(r, online) for r in day.iter_rows(named=True)]


def _offline(model: ServedModel, online, flights: list[dict]) -> np.ndarray:
    """The batch path: a frame of the looked-up feature rows, encoded by the contract as training encodes."""
    frame = pl.DataFrame([online.feature_row({**f, "date": ONLINE_DAY}) for f in flights],
                         infer_schema_length=None).select([f.name for f in FEATURES])
    return model.predict(model.contract.to_matrix(frame))


def test_served_predictions_equal_offline_ones_single_and_batch(served, client):
    model, valid = served
    rows = valid.head(20)
    offline = model.predictor.predict(model.contract.to_matrix(rows))
    single = []
    for row in rows.iter_rows(named=True):
        response = client.post("/predict_features", json={"flight": request_for(row)})
        assert response.status_code == 200, response.text
        assert response.json()["model_version"] == "7"
        single.append(response.json()["probability"])
    np.testing.assert_allclose(single, offline, rtol=1e-6)
    batch = client.post("/predict_features_batch",
                        json={"flights": [request_for(r) for r in rows.iter_rows(named=True)]})
    assert batch.status_code == 200
    np.testing.assert_allclose([p["probability"] for p in batch.json()], offline, rtol=1e-6)


def test_scheduled_flights_are_scored_with_their_looked_up_features(served, online, client, scheduled):
    model, _ = served
    offline = _offline(model, online, scheduled)
    single = [client.post("/predict", json={"flight": f}).json()["probability"] for f in scheduled]
    np.testing.assert_allclose(single, offline, rtol=1e-6)
    batch = client.post("/predict_batch", json={"flights": scheduled})
    assert batch.status_code == 200, batch.text
    np.testing.assert_allclose([p["probability"] for p in batch.json()], offline, rtol=1e-6)
    unknown = {**scheduled[0], "dest": "AA", "tailnum": "N999"}  # a route and a plane with no history: fallbacks
    answer = client.post("/predict", json={"flight": unknown})
    assert answer.status_code == 200
    np.testing.assert_allclose(answer.json()["probability"], _offline(model, online, [unknown]), rtol=1e-6)


def test_concurrent_requests_share_predict_calls_and_get_their_own_answers(served, online, monkeypatch):
    model, valid = served
    rows = valid.head(64)
    offline = model.predictor.predict(model.contract.to_matrix(rows))
    endpoints = Endpoints(model, online)
    calls = []
    predict = model.predict
    monkeypatch.setattr(model, "predict", lambda matrix: calls.append(len(matrix)) or predict(matrix))

    async def fire():
        transport = httpx.ASGITransport(app=create_app(endpoints))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            answers = await asyncio.gather(*(http.post("/predict_features", json={"flight": request_for(r)})
                                             for r in rows.iter_rows(named=True)))
        return [a.json()["probability"] for a in answers]

    np.testing.assert_allclose(asyncio.run(fire()), offline, rtol=1e-6)
    assert sum(calls) == len(rows) and len(calls) < len(rows)


@pytest.mark.parametrize(
    ("change", "status", "field"),
    [
        (lambda f: {**f, "month": 13}, 422, "flight.month"),
        (lambda f: {**f, "distance": -5}, 422, "flight.distance"),
        (lambda f: {**f, "distance": "far"}, 422, "flight.distance"),
        (lambda f: {**f, "carrier": 7}, 422, "flight.carrier"),
        (lambda f: {**f, "carrier": "ZZ"}, 422, "flight.carrier"),
        (lambda f: {**f, "dest": "XXX"}, 422, "flight.dest"),
        (lambda f: {k: v for k, v in f.items() if k != "origin"}, 422, "flight.origin"),
        (lambda f: {**f, "wingspan": 30}, 422, "flight.wingspan"),
    ],
    ids=["out-of-range", "negative", "wrong-type-number", "wrong-type-string", "unknown-carrier",
         "unknown-airport", "missing", "extra"],
)
def test_bad_fields_get_a_422_naming_the_field(client, features, change, status, field):
    response = client.post("/predict_features", json={"flight": change(features)})
    assert response.status_code == status
    assert field in [e["field"] for e in response.json()["errors"]], response.text


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda f: {**f, "date": str(ONLINE_DAY + timedelta(days=1))}, "flight.date"),
        (lambda f: {**f, "date": "2013-02-30"}, "flight.date"),
        (lambda f: {k: v for k, v in f.items() if k != "date"}, "flight.date"),
        (lambda f: {**f, "sched_dep_hour": 25}, "flight.sched_dep_hour"),
        (lambda f: {**f, "sched_dep_hour": 17.5}, "flight.sched_dep_hour"),
        (lambda f: {k: v for k, v in f.items() if k != "distance"}, "flight.distance"),
        (lambda f: {**f, "carrier": "ZZ"}, "flight.carrier"),
        (lambda f: {**f, "temp": 20.0}, "flight.temp"),
        (lambda f: {**f, "tailnum": 7}, "flight.tailnum"),
    ],
    ids=["other-day", "no-such-date", "no-date", "out-of-range", "fractional-hour", "missing", "unknown-carrier",
         "looked-up-feature-sent", "wrong-type"],
)
def test_bad_scheduled_flights_get_a_422_naming_the_field(client, scheduled, change, field):
    response = client.post("/predict", json={"flight": change(scheduled[0])})
    assert response.status_code == 422
    assert field in [e["field"] for e in response.json()["errors"]], response.text


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        (b'{"flight": {"carrier": ', 400, "body"),
        (b"", 400, "body"),
        (b"[1, 2]", 422, "body"),
        (b'{"flight": null}', 422, "flight"),
        (b'{"flights": []}', 422, "flight"),
    ],
    ids=["truncated-json", "empty", "array", "null", "wrong-key"],
)
def test_malformed_bodies_get_a_4xx_naming_what_was_wrong(client, body, status, field):
    response = client.post("/predict", content=body, headers={"content-type": "application/json"})
    assert response.status_code == status
    assert field in [e["field"] for e in response.json()["errors"]], response.text


def test_huge_payloads_are_refused_before_parsing_and_the_service_keeps_serving(client, scheduled):
    flight = scheduled[0]
    huge = json.dumps({"flight": {**flight, "pad": "x" * MAX_SINGLE_BYTES}})
    assert client.post("/predict", content=huge).status_code == 413
    too_many = client.post("/predict_batch", json={"flights": [flight] * (MAX_BATCH_ROWS + 1)})
    assert too_many.status_code == 422 and "flights" in too_many.text
    assert client.post("/predict_batch", json={"flights": []}).status_code == 422
    assert client.post("/predict", json={"flight": flight}).status_code == 200


def test_request_schemas_follow_the_contract(served, online):
    model, _ = served
    extra = Feature("gate_changes", "numeric", "gate changes announced so far", minimum=0, maximum=10)
    contract = FeatureContract((*FEATURES, extra), model.contract.vocabulary)
    single, _ = request_models(contract)
    flight_fields = single.model_fields["flight"].annotation.model_fields
    assert list(flight_fields) == [f.name for f in contract.features]
    assert flight_fields["gate_changes"].metadata[0].ge == 0
    scheduled, _ = scheduled_models(contract, online)
    scheduled_fields = scheduled.model_fields["flight"].annotation.model_fields
    assert list(scheduled_fields) == ["date", *online.request_fields(contract.features)]
    assert "gate_changes" in scheduled_fields and "carrier_delay_rate_7d" not in scheduled_fields
    assert scheduled_fields["distance"].is_required() and not scheduled_fields["tailnum"].is_required()


@pytest.fixture
def shadowed(served, online, feature_frame, tmp_path):
    """The served model as champion (v7) and a shorter-trained challenger (v8) in shadow."""
    model, _ = served
    other = fit_candidate(SPECS["lightgbm"], *WINDOW.split(feature_frame), params={"max_rounds": 5})
    challenger = ServedModel("flight_delay", "8", other.predictor, other.contract)
    shadow = Shadow(challenger, model.version, tmp_path / "shadow.jsonl")
    return Endpoints(model, online, shadow), challenger


def test_shadow_logs_the_challenger_and_answers_with_the_champion_only(served, online, scheduled, shadowed):
    model, _ = served
    endpoints, challenger = shadowed
    client = TestClient(create_app(endpoints))
    answers = [client.post("/predict", json={"flight": f, "request_id": f"flight-{i}"}).json()
               for i, f in enumerate(scheduled)]
    endpoints.shadow.flush()
    assert {a["model_version"] for a in answers} == {"7"}
    np.testing.assert_allclose([a["probability"] for a in answers], _offline(model, online, scheduled), rtol=1e-6)
    logged = pl.read_ndjson(endpoints.shadow.path)
    assert logged.get_column("request_id").to_list() == [f"flight-{i}" for i in range(len(scheduled))]
    assert set(logged.get_column("champion_version")) == {"7"} and set(logged.get_column("challenger_version")) == {"8"}
    np.testing.assert_allclose(logged.get_column("champion"), [a["probability"] for a in answers], rtol=1e-9)
    np.testing.assert_allclose(logged.get_column("challenger"), _offline(challenger, online, scheduled), rtol=1e-6)
    assert not np.allclose(logged.get_column("challenger"), logged.get_column("champion"))


def test_a_failing_shadow_never_changes_or_fails_a_response(served, online, scheduled, shadowed, monkeypatch):
    model, _ = served
    endpoints, challenger = shadowed

    def broken(matrix):
        raise RuntimeError("challenger exploded")

    monkeypatch.setattr(challenger, "predict", broken)
    client = TestClient(create_app(endpoints), raise_server_exceptions=False)
    responses = [client.post("/predict", json={"flight": f}) for f in scheduled]
    endpoints.shadow.flush()
    assert [r.status_code for r in responses] == [200] * len(scheduled)
    np.testing.assert_allclose([r.json()["probability"] for r in responses], _offline(model, online, scheduled),
                               rtol=1e-6)
    assert endpoints.shadow.failures >= 1 and not endpoints.shadow.path.exists()
