"""Every test session gets its own ML_PLATFORM_HOME, set before the platform reads its settings."""

import os
import tempfile

from datetime import date, timedelta

import numpy as np
import polars as pl
import pytest

from ml_platform.features import FEATURES, LABEL

os.environ["ML_PLATFORM_HOME"] = tempfile.mkdtemp(prefix="ml-platform-test-")
os.environ.pop("MLFLOW_TRACKING_URI", None)
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ["BENTOML_DO_NOT_TRACK"] = "true"


@pytest.fixture(scope="session")
def feature_frame() -> pl.DataFrame:
    """Small synthetic feature rows in the contract's shape, with a learnable label."""
    rng = np.random.default_rng(7)
    n = 6000
    days = [date(2013, 1, 1) + timedelta(days=int(d)) for d in rng.integers(0, 120, n)]
    data = {"flight_id": [f"f{i}" for i in range(n)], "flight_date": days}
    for feature in FEATURES:
        if feature.kind == "categorical":
            data[feature.name] = rng.choice(["AA", "B6", "UA", "DL"], n).tolist()
        else:
            lo, hi = feature.minimum or 0, min(feature.maximum or 100, 100)
            data[feature.name] = rng.uniform(lo, hi, n)
    frame = pl.DataFrame(data)
    logit = (frame["sched_dep_hour"] - 12) / 4 + (frame["carrier"] == "B6").cast(pl.Float64) * 1.5
    p = 1 / (1 + np.exp(-logit.to_numpy()))
    return frame.with_columns(pl.Series(LABEL, rng.uniform(size=n) < p)).sort("flight_date")
