"""`ml-platform replay` end to end, in its own home: the sensors train, gate and serve the first champion."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ml_platform.monitoring import MonitoringStore

pytestmark = pytest.mark.slow
CLI = str(Path(sys.executable).parent / "ml-platform")


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    home = tmp_path_factory.mktemp("replay-home")
    env = {**os.environ, "ML_PLATFORM_HOME": str(home)}
    env.pop("DAGSTER_HOME", None)
    # 56 days, two sensor ticks of 14 days...: the warm-up ends on the last day, so the first model is trained,
    # gated and served within the replay
    done = subprocess.run([CLI, "replay", "--start", "2013-01-01", "--end", "2013-02-25", "--days-per-tick", "14"],
                          env=env, capture_output=True, text=True, timeout=1500)
    try:
        yield home, env, done
    finally:
        subprocess.run([CLI, "stop"], env=env, capture_output=True, timeout=60)


def test_replay_ends_with_a_served_champion_and_a_report(replayed):
    home, env, done = replayed
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


def test_the_replayed_champion_answers_for_the_last_replayed_day(replayed):
    home, env, _ = replayed
    asked = subprocess.run([CLI, "predict"], env=env, capture_output=True, text=True, timeout=120)
    assert asked.returncode == 0, asked.stderr[-2000:]
    assert "on 2013-02-25" in asked.stdout and "[model flight_delay v1," in asked.stdout
