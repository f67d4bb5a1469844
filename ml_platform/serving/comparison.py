"""Champion vs challenger on the same labelled flights: which predicts better, and is it significant?

The per-flight log-loss difference (challenger minus champion) is averaged per day and the daily
means are t-tested against zero: flights of one day share weather and congestion, so a flight-level
test would overstate the evidence. Negative differences favour the challenger. The probabilities come
from the shadow log of the live service (:mod:`~ml_platform.serving.shadow`) once its flights have
labels, or from scoring the stored features with both versions.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import polars as pl
from scipy import stats

from ml_platform.features import KEY_COLUMNS, LABEL
from ml_platform.serving import batch
from ml_platform.serving.scoring import ServedModel

EPS = 1e-12


@dataclass(frozen=True)
class Comparison:
    rows: int
    days: int
    champion_logloss: float
    challenger_logloss: float
    difference: float  # mean daily (challenger - champion) log-loss; negative: the challenger is better
    ci_low: float
    ci_high: float
    p_value: float
    alpha: float

    @property
    def decision(self) -> str:
        if self.p_value >= self.alpha:
            return "no significant difference: keep the champion"
        return "challenger is better: promote" if self.difference < 0 else "champion is better: keep it"


def _logloss(y: np.ndarray, p: np.ndarray) -> np.ndarray:
    p = np.clip(p, EPS, 1 - EPS)
    return -(y * np.log(p) + (1 - y) * np.log(1 - p))


def compare(scored: pl.DataFrame, alpha: float = 0.05) -> Comparison:
    """``scored`` has ``flight_date``, the label and ``champion``/``challenger`` probabilities."""
    y = scored.get_column(LABEL).cast(pl.Float64).to_numpy()
    champion = _logloss(y, scored.get_column("champion").to_numpy())
    challenger = _logloss(y, scored.get_column("challenger").to_numpy())
    daily = (scored.select("flight_date").with_columns(pl.Series("d", challenger - champion))
             .group_by("flight_date").agg(pl.col("d").mean()).get_column("d").to_numpy())
    if daily.size < 2:
        raise ValueError(f"need labelled flights on at least 2 days to compare, got {daily.size}")
    if np.allclose(daily, 0.0):
        low = high = 0.0
        p_value = 1.0
    else:
        test = stats.ttest_1samp(daily, 0.0)
        interval = test.confidence_interval(1 - alpha)
        low, high, p_value = float(interval.low), float(interval.high), float(test.pvalue)
    return Comparison(rows=len(y), days=int(daily.size), champion_logloss=float(champion.mean()),
                      challenger_logloss=float(challenger.mean()), difference=float(daily.mean()),
                      ci_low=low, ci_high=high, p_value=p_value, alpha=alpha)


def compare_models(champion: ServedModel, challenger: ServedModel, frame: pl.DataFrame,
                   alpha: float = 0.05) -> Comparison:
    """Score the same labelled feature rows with both versions, then :func:`compare` them."""
    scored = frame.select("flight_date", LABEL).with_columns(
        pl.Series("champion", batch.score_frame(champion, frame).get_column("probability")),
        pl.Series("challenger", batch.score_frame(challenger, frame).get_column("probability")),
    )
    return compare(scored, alpha)


def read_shadow(log_dir: Path, champion: str, challenger: str) -> pl.DataFrame:
    """Every shadow row the service logged for this pair of versions (empty if none), one per request id."""
    files = sorted(Path(log_dir).glob(f"v{champion}-vs-v{challenger}.*.jsonl"))
    if not files:
        return pl.DataFrame(schema={"request_id": pl.String, "champion": pl.Float64, "challenger": pl.Float64})
    rows = pl.concat([pl.read_ndjson(f) for f in files], how="vertical_relaxed")
    return rows.select("request_id", "champion", "challenger").unique("request_id", keep="last")


def labelled_shadow(shadow: pl.DataFrame, labelled: pl.DataFrame) -> pl.DataFrame:
    """The shadow rows whose request id is a flight id with a label: :func:`compare`'s input."""
    flight_id = KEY_COLUMNS[0]
    return labelled.select(flight_id, "flight_date", LABEL).join(
        shadow.rename({"request_id": flight_id}), on=flight_id, how="inner")


def compare_versions(champion: ServedModel, challenger: ServedModel, labelled: pl.DataFrame, shadow_dir: Path,
                     alpha: float = 0.05) -> tuple[str, Comparison]:
    """The live shadow log's pairs when they cover 2+ labelled days, else both versions on ``labelled``."""
    shadow = labelled_shadow(read_shadow(shadow_dir, champion.version, challenger.version), labelled)
    if shadow.get_column("flight_date").n_unique() >= 2:
        return f"shadow log of the live service ({shadow.height} labelled requests)", compare(shadow, alpha)
    return "both versions scoring the stored features", compare_models(champion, challenger, labelled, alpha)
