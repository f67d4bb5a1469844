import json
import threading
from datetime import date, timedelta
from http.server import BaseHTTPRequestHandler, HTTPServer

import numpy as np
import polars as pl

from ml_platform import alerts, landing, monitoring, report
from ml_platform.features import FEATURES
from ml_platform.retraining import RetrainPolicy

NAMES = [f.name for f in FEATURES]


def _store_with_reference(feature_frame, tmp_path):
    store = monitoring.MonitoringStore(tmp_path / "lake")
    reference = feature_frame.filter(pl.col("flight_date") < date(2013, 3, 1))
    view = monitoring.profile_scored(reference, None, NAMES)
    store.write_reference(monitoring.Reference("3", "lightgbm", date(2013, 2, 1), date(2013, 2, 28),
                                               reference.height, 0.71), view)
    return store


def test_days_are_profiled_and_scored_against_the_reference(feature_frame, tmp_path):
    store = _store_with_reference(feature_frame, tmp_path)
    later = feature_frame.filter(pl.col("flight_date") >= date(2013, 4, 1))
    shifted = later.with_columns((pl.col("temp") + 200).alias("temp"))
    records = monitoring.profile_days(store, shifted, None, NAMES)
    assert len(records) == later.get_column("flight_date").n_unique()
    assert all(r["scores"]["temp"] > 0.9 and r["scores"]["humid"] < 0.4 for r in records)
    # each day is scored with the trailing week of stored profiles: its rows are the week's
    assert records[0]["rows"] == records[0]["flights"] and records[7]["rows"] == sum(r["flights"] for r in records[1:8])
    signal = store.signals()[0]
    assert signal.day == records[0]["day"] and signal.drift["temp"] == records[0]["scores"]["temp"]
    assert store.drift()[signal.day]["reference_version"] == "3"
    assert (store.root / "profiles" / f"{signal.day}.bin").exists()


def test_without_a_reference_days_are_profiled_with_no_scores(feature_frame, tmp_path):
    store = monitoring.MonitoringStore(tmp_path / "lake")
    records = monitoring.profile_days(store, feature_frame.head(200), None, NAMES)
    assert records and all(r["scores"] == {} for r in records)
    assert store.first_day() == feature_frame.get_column("flight_date").min()


def test_trend_pools_the_trailing_week_of_stored_predictions(tmp_path):
    store = monitoring.MonitoringStore(tmp_path / "lake")
    rng = np.random.default_rng(1)
    d0 = date(2013, 5, 1)
    for n in range(10):
        y = rng.integers(0, 2, 50)
        p = np.clip(y * 0.6 + rng.uniform(0, 0.4, 50), 0, 1) if n < 7 else rng.uniform(0, 1, 50)  # days 7.. are noise
        store.write_predictions(d0 + timedelta(days=n), pl.DataFrame({"is_delayed": y, "prediction": p}))
    good, mixed = monitoring.trend(store, d0 + timedelta(days=6)), monitoring.trend(store, d0 + timedelta(days=9))
    assert good["auc"] == 1.0  # every positive scored above every negative
    assert 0.5 < mixed["auc"] < good["auc"]
    assert monitoring.trend(store, d0 - timedelta(days=30)) is None


def test_live_trend_of_each_day_is_the_stored_trailing_week(feature_frame, tmp_path):
    """record_live pools each day's week in memory; it must equal trend() over what is stored,
    including the days an earlier run stored."""
    from ml_platform.registry import LoadedModel
    from ml_platform.specs import SPECS
    from ml_platform.training import fit_candidate
    from tests.unit.test_training import QUICK, WINDOW

    fitted = fit_candidate(SPECS["lightgbm"], *WINDOW.split(feature_frame), params=QUICK["lightgbm"])
    model = LoadedModel(fitted.predictor, fitted.contract, "1", {"model_spec": "lightgbm"})
    store = monitoring.MonitoringStore(tmp_path / "lake")
    day = pl.col("flight_date")
    monitoring.record_live(store, feature_frame.filter(day.is_between(date(2013, 2, 20), date(2013, 3, 3))), model)
    records = monitoring.record_live(store, feature_frame.filter(day.is_between(date(2013, 3, 4), date(2013, 3, 14))),
                                     model)
    assert [r["day"] for r in records] == [date(2013, 3, 4) + timedelta(days=n) for n in range(11)]
    for record in records:
        assert record["auc_7d"] == monitoring.trend(store, record["day"])["auc"]
        assert store.live()[record["day"]]["trend"] == monitoring.trend(store, record["day"])


def test_injected_drift_changes_only_its_column_from_its_day(tmp_path):
    drift = landing.InjectedDrift(date(2013, 1, 3))
    landing.land(tmp_path, date(2013, 1, 2), date(2013, 1, 3), drift=drift)
    clean = landing.land(tmp_path / "clean", date(2013, 1, 2), date(2013, 1, 3))
    read = {(f.table, f.day): landing.read_landed(f.path) for f in landing.landed_files(tmp_path)}
    base = {(f.table, f.day): landing.read_landed(f.path) for f in clean}
    assert read[("weather", date(2013, 1, 2))].equals(base[("weather", date(2013, 1, 2))])
    assert read[("flights", date(2013, 1, 3))].equals(base[("flights", date(2013, 1, 3))])
    fahrenheit, celsius = base[("weather", date(2013, 1, 3))], read[("weather", date(2013, 1, 3))]
    assert np.allclose(celsius["temp"].to_numpy(), ((fahrenheit["temp"] - 32) * 5 / 9).to_numpy(), atol=0.01)
    assert celsius.drop("temp").equals(fahrenheit.drop("temp"))


class _Receiver(BaseHTTPRequestHandler):
    received: list = []

    def do_POST(self):  # noqa: N802 (http.server's name)
        _Receiver.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args):
        pass


def test_alerts_post_to_a_configured_webhook_and_survive_a_dead_one():
    server = HTTPServer(("127.0.0.1", 0), _Receiver)
    threading.Thread(target=server.handle_request, daemon=True).start()
    event = {"kind": "retrain", "summary": "temp drifted", "day": "2013-07-01"}
    assert alerts.notify(f"http://127.0.0.1:{server.server_port}/hook", event)
    server.server_close()
    assert _Receiver.received[-1]["day"] == "2013-07-01" and "temp drifted" in _Receiver.received[-1]["text"]
    assert not alerts.notify(f"http://127.0.0.1:{server.server_port}/hook", event)  # nobody listens: logged only
    assert not alerts.notify(None, event)  # off by default


def test_report_writes_a_page_with_its_plots(feature_frame, tmp_path):
    store = _store_with_reference(feature_frame, tmp_path)
    monitoring.profile_days(store, feature_frame.filter(pl.col("flight_date") >= date(2013, 4, 1)), None, NAMES)
    events = [report.Event(date(2013, 4, 10), "retrain", "temp drifted"), report.Event(date(2013, 4, 10), "promoted", "v4")]
    data = report.ReportData("Replay test", {"runs": 3}, events,
                             step_seconds={"models__candidate": 3.0, "daily_dbt_models": 6.0}, wall_s=10.0)
    page = report.write(store, data, RetrainPolicy(), tmp_path / "r")
    html = page.read_text()
    assert "Replay test" in html and "temp drifted" in html and "<td>runs</td>" not in html
    for image in ("performance.png", "drift.png", "versions.png"):
        assert (tmp_path / "r" / image).read_bytes()[:4] == b"\x89PNG" and image in html
    # where the time went: the slowest step first, then the second that no step accounts for
    assert "<td>daily_dbt_models</td><td>6.0</td><td>60%</td>" in html
    assert html.index("daily_dbt_models") < html.index("models__candidate") < html.index("outside the steps")
    assert "<td>1.0</td><td>10%</td>" in html
    summary = json.loads((tmp_path / "r" / "summary.json").read_text())
    assert summary["events"][1]["kind"] == "promoted"
    assert list(summary["step_seconds"].items()) == [("daily_dbt_models", 6.0), ("models__candidate", 3.0)]
