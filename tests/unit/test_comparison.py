"""The champion-vs-challenger test: finds a real improvement, a real regression, and no difference."""

from datetime import date, timedelta
from types import SimpleNamespace

import numpy as np
import polars as pl
import pytest

from ml_platform.features import LABEL
from ml_platform.serving.comparison import compare, compare_versions, labelled_shadow, read_shadow


def _scored(challenger_noise: float, champion_noise: float = 1.0, days: int = 40, seed: int = 0) -> pl.DataFrame:
    rng = np.random.default_rng(seed)
    n = days * 200
    logit = rng.normal(0, 1.5, n)
    y = rng.uniform(size=n) < 1 / (1 + np.exp(-logit))

    def model(noise):
        return 1 / (1 + np.exp(-(logit + rng.normal(0, noise, n))))

    return pl.DataFrame({"flight_date": [date(2013, 10, 1) + timedelta(days=i // 200) for i in range(n)],
                         LABEL: y, "champion": model(champion_noise), "challenger": model(challenger_noise)})


def test_a_better_challenger_is_significantly_better():
    result = compare(_scored(challenger_noise=0.3))
    assert result.difference < 0 and result.ci_high < 0 and result.p_value < 0.01
    assert result.challenger_logloss < result.champion_logloss
    assert result.decision == "challenger is better: promote"


def test_a_worse_challenger_is_kept_out():
    result = compare(_scored(challenger_noise=2.0))
    assert result.difference > 0 and result.p_value < 0.01
    assert result.decision == "champion is better: keep it"


def test_the_same_model_is_no_evidence():
    frame = _scored(1.0)
    result = compare(frame.with_columns(pl.col("champion").alias("challenger")))
    assert (result.p_value, result.difference) == (1.0, 0.0)
    assert result.decision.startswith("no significant difference")
    assert result.days == 40 and result.rows == 8000


def test_one_day_is_not_enough():
    with pytest.raises(ValueError, match="at least 2 days"):
        compare(_scored(0.5, days=1))


def test_the_live_shadow_log_is_compared_once_its_flights_have_labels(tmp_path):
    scored = _scored(challenger_noise=0.3, days=10).with_columns(flight_id=pl.format("f{}", pl.int_range(pl.len())))
    logged = scored.select(pl.col("flight_id").alias("request_id"), "champion", "challenger")
    for worker, part in enumerate((logged[::2], logged[1::2])):  # one file per serving worker
        part.head(part.height - 5).write_ndjson(tmp_path / f"v1-vs-v2.{worker}.jsonl")
    (tmp_path / "v1-vs-v3.0.jsonl").write_text('{"request_id": "f0", "champion": 0.5, "challenger": 0.01}\n')
    shadow = read_shadow(tmp_path, "1", "2")
    assert shadow.height == scored.height - 10
    source, result = compare_versions(SimpleNamespace(version="1"), SimpleNamespace(version="2"),
                                      scored.select("flight_id", "flight_date", LABEL), tmp_path)
    assert source.startswith("shadow log") and result.rows == scored.height - 10
    assert result.decision == "challenger is better: promote"
    unlabelled = labelled_shadow(shadow, scored.head(0).select("flight_id", "flight_date", LABEL))
    assert unlabelled.is_empty()
