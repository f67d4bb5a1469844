"""The prediction endpoints in-process: parity with offline scoring, micro-batching, and bad input."""

import asyncio
import json

import httpx
import numpy as np
import pytest
from starlette.testclient import TestClient

from ml_platform.features import FEATURES, Feature, FeatureContract, request_for
from ml_platform.serving.app import MAX_SINGLE_BYTES, Endpoints, create_app
from ml_platform.serving.schemas import MAX_BATCH_ROWS, request_models
from ml_platform.serving.scoring import ServedModel
from ml_platform.specs import SPECS
from ml_platform.training import fit_candidate
from tests.unit.test_training import WINDOW


@pytest.fixture(scope="module")
def served(feature_frame):
    train, valid = WINDOW.split(feature_frame)
    model = fit_candidate(SPECS["lightgbm"], train, valid, params={"max_rounds": 30})
    return ServedModel("flight_delay", "7", model.predictor, model.contract), valid


@pytest.fixture(scope="module")
def client(served):
    model, _ = served
    return TestClient(create_app(Endpoints(model)), raise_server_exceptions=False)


@pytest.fixture(scope="module")
def flight(served):
    return request_for(served[1].row(0, named=True))


def test_served_predictions_equal_offline_ones_single_and_batch(served, client):
    model, valid = served
    rows = valid.head(20)
    offline = model.predictor.predict(model.contract.to_matrix(rows))
    single = []
    for row in rows.iter_rows(named=True):
        response = client.post("/predict", json={"flight": request_for(row)})
        assert response.status_code == 200, response.text
        assert response.json()["model_version"] == "7"
        single.append(response.json()["probability"])
    np.testing.assert_allclose(single, offline, rtol=1e-6)
    batch = client.post("/predict_batch", json={"flights": [request_for(r) for r in rows.iter_rows(named=True)]})
    assert batch.status_code == 200
    np.testing.assert_allclose([p["probability"] for p in batch.json()], offline, rtol=1e-6)


def test_concurrent_requests_share_predict_calls_and_get_their_own_answers(served, monkeypatch):
    model, valid = served
    rows = valid.head(64)
    offline = model.predictor.predict(model.contract.to_matrix(rows))
    endpoints = Endpoints(model)
    calls = []
    predict = model.predict
    monkeypatch.setattr(model, "predict", lambda matrix: calls.append(len(matrix)) or predict(matrix))

    async def fire():
        transport = httpx.ASGITransport(app=create_app(endpoints))
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as http:
            answers = await asyncio.gather(*(http.post("/predict", json={"flight": request_for(r)})
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
def test_bad_fields_get_a_422_naming_the_field(client, flight, change, status, field):
    response = client.post("/predict", json={"flight": change(flight)})
    assert response.status_code == status
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


def test_huge_payloads_are_refused_before_parsing_and_the_service_keeps_serving(client, flight):
    huge = json.dumps({"flight": {**flight, "pad": "x" * MAX_SINGLE_BYTES}})
    assert client.post("/predict", content=huge).status_code == 413
    too_many = client.post("/predict_batch", json={"flights": [flight] * (MAX_BATCH_ROWS + 1)})
    assert too_many.status_code == 422 and "flights" in too_many.text
    assert client.post("/predict_batch", json={"flights": []}).status_code == 422
    assert client.post("/predict", json={"flight": flight}).status_code == 200


def test_request_schema_follows_the_contract(served):
    model, _ = served
    extra = Feature("gate_changes", "numeric", "gate changes announced so far", minimum=0, maximum=10)
    contract = FeatureContract((*FEATURES, extra), model.contract.vocabulary)
    single, _ = request_models(contract)
    flight_fields = single.model_fields["flight"].annotation.model_fields
    assert list(flight_fields) == [f.name for f in contract.features]
    assert flight_fields["gate_changes"].metadata[0].ge == 0
