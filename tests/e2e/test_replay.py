"""`make replay` end to end, in its own home: the sensors, evaluated as Dagster's daemon has them evaluated,
train, gate and serve the first champion; make stops the service after the report."""

import json
import subprocess

import pytest

from ml_platform.monitoring import MonitoringStore
from ml_platform.settings import PROJECT_ROOT
from tests.e2e.entry_points import CLI, user_env

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    home = tmp_path_factory.mktemp("replay-home")
    # 56 days, two sensor ticks of 14 days...: the warm-up ends on the last day, so the first model is trained,
    # gated and served within the replay
    done = subprocess.run(["make", "replay", f"REPLAY_HOME={home}",
                           "ARGS=--start 2013-01-01 --end 2013-02-25 --days-per-tick 14"],
                          env=user_env(home.parent / "not-the-replay-home"), cwd=PROJECT_ROOT, capture_output=True,
                          text=True, timeout=1500)
    try:
        yield home, done
    finally:
        subprocess.run([CLI, "stop"], env=user_env(home), capture_output=True, timeout=60)


def test_replay_ends_with_a_served_champion_and_a_report(replayed):
    home, done = replayed
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert "4/4 through 2013-02-25" in done.stdout  # the progress bar reached the end
    report_dir = home / "reports" / "replay-2013-01-01_2013-02-25"
    summary = json.loads((report_dir / "summary.json").read_text())
    assert summary["served champion"] == "v1" and summary["promotions"] == 1
    assert summary["failed runs"] == summary["runs stopped by a blocking check"] == 0  # the first model passed the gate
    kinds = [e["kind"] for e in summary["events"]]
    assert kinds == ["retrain", "promoted"] and summary["events"][0]["day"] == "2013-02-25"
    assert "first model" in summary["events"][0]["detail"]
    page = (report_dir / "index.html").read_text()
    assert all(image in page and (report_dir / image).stat().st_size > 1000
               for image in ("performance.png", "drift.png", "versions.png"))
    # where the replay's time went, per Dagster step: the data runs' dbt and the retrain's training among them
    steps = summary["step_seconds"]
    assert steps["daily_dbt_models"] > 0 and steps["models__candidate"] > 0 and "Where the time went" in page
    assert sum(steps.values()) < summary["wall seconds"]
    # the sensor's decisions were recorded, one per monitored day
    decisions = MonitoringStore(home / "lake").decisions()
    assert len(decisions) == 56 and sum(d["retrain"] for d in decisions) == 1


def test_make_replay_stops_the_service_it_served_and_keeps_to_its_home(replayed):
    home, done = replayed
    assert "stopped " in done.stdout and "the champion is still served" in done.stdout  # the CLI, then make's stop
    asked = subprocess.run([CLI, "predict"], env=user_env(home), capture_output=True, text=True, timeout=120)
    assert asked.returncode != 0 and "no service is running" in asked.stderr
    assert not (home.parent / "not-the-replay-home").exists()
