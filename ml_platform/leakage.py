"""Leakage check for the point-in-time features: they may only know what was known when D was scheduled.

Two independent tests, both run on the stored ``features.flight_features``:

1. **Recompute.** For sampled days D, recompute the features from staging using only flights strictly
   before D plus D's own schedule and weather rows, and compare with what is stored. A feature that
   looked at D's outcomes (or later days) differs. The recomputation is written from the declarative
   specs below, not from the dbt SQL, so a bug in the model cannot hide itself.
2. **Label proxy.** No single numeric feature may rank the label almost perfectly (AUC near 1 or 0): a
   feature that does is an outcome in disguise, whatever it is called.

Plane features (age, seats) come from a reference table without a time dimension and are not recomputed.
"""

from __future__ import annotations

import logging
import random
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from ml_platform.days import days_between
from ml_platform.features import KEY_COLUMNS, LABEL

log = logging.getLogger(__name__)

FLIGHTS, WEATHER, FEATURES = "staging.stg_flights", "staging.stg_weather", "features.flight_features"
AUC_LIMIT = 0.98  # a single feature ranking the label better than this is a leak
TOLERANCE = 1e-9


@dataclass(frozen=True)
class WindowAggregate:
    """A feature aggregated over the ``days`` days before D, grouped by ``keys``."""

    feature: str
    keys: tuple[str, ...]
    days: int
    stat: str  # "delay_rate" (share of delayed flights) | "volume" (flights, 0 when none)

    def sql(self) -> str:
        value = "avg(is_delayed::int)::double" if self.stat == "delay_rate" else "count(*)"
        return (f"select {', '.join(self.keys)}, {value} as {self.feature} from {FLIGHTS} "
                f"where flight_date between $day - interval {self.days} days and $day - interval 1 day "
                f"group by all")


SCHEDULE = ("carrier", "origin", "dest", "month", "day_of_week", "sched_dep_hour", "sched_arr_hour", "distance")
WEATHER_AT_DEPARTURE = ("temp", "humid", "wind_speed", "precip", "visib")
AGGREGATES = (
    WindowAggregate("carrier_delay_rate_7d", ("carrier",), 7, "delay_rate"),
    WindowAggregate("route_delay_rate_28d", ("origin", "dest"), 28, "delay_rate"),
    WindowAggregate("origin_hour_delay_rate_28d", ("origin", "sched_dep_hour"), 28, "delay_rate"),
    WindowAggregate("origin_volume_prev_day", ("origin",), 1, "volume"),
)
RECOMPUTED = (*SCHEDULE, *WEATHER_AT_DEPARTURE, *(a.feature for a in AGGREGATES))


@dataclass
class LeakageReport:
    days: list[date]
    mismatches: dict[str, int] = field(default_factory=dict)  # feature -> rows that differ from the recompute
    auc: dict[str, float] = field(default_factory=dict)  # feature -> max(AUC, 1 - AUC) against the label

    @property
    def proxies(self) -> dict[str, float]:
        return {f: a for f, a in self.auc.items() if a >= AUC_LIMIT}

    @property
    def passed(self) -> bool:
        return not self.mismatches and not self.proxies

    def message(self) -> str:
        if self.passed:
            return (f"no leakage: {len(RECOMPUTED)} features match their point-in-time recompute on "
                    f"{', '.join(map(str, self.days))}; best single-feature AUC {max(self.auc.values(), default=0.5):.3f}")
        parts = [f"{f} differs from its point-in-time recompute in {n} rows" for f, n in self.mismatches.items()]
        parts += [f"{f} alone predicts {LABEL} with AUC {a:.3f} (limit {AUC_LIMIT})" for f, a in self.proxies.items()]
        return "leakage: " + "; ".join(parts)


def sample_days(first: date, last: date, k: int = 3) -> list[date]:
    """``k`` days of the window, the last one always among them; the same window gives the same days."""
    days = days_between(first, last)
    rest = random.Random(f"{first}/{last}").sample(days[:-1], min(k - 1, len(days) - 1))
    return sorted([*rest, days[-1]])


def recompute_day(con: duckdb.DuckDBPyConnection, day: date) -> pl.DataFrame:
    """The features of D's flights from D's schedule and weather and the flights strictly before D."""
    ctes = [f"agg_{i} as ({a.sql()})" for i, a in enumerate(AGGREGATES)]
    joins = [f"left join agg_{i} on " + " and ".join(f"agg_{i}.{k} = today.{k}" for k in a.keys)
             for i, a in enumerate(AGGREGATES)]
    values = [f"coalesce(agg_{i}.{a.feature}, 0)" if a.stat == "volume" else f"agg_{i}.{a.feature}"
              for i, a in enumerate(AGGREGATES)]
    query = f"""
        with today as (select flight_id, {', '.join(SCHEDULE)} from {FLIGHTS} where flight_date = $day),
        {', '.join(ctes)}
        select today.*, {', '.join(f'w.{c}' for c in WEATHER_AT_DEPARTURE)},
               {', '.join(f'{v} as {a.feature}' for v, a in zip(values, AGGREGATES))}
        from today
        left join {WEATHER} w on w.origin = today.origin and w.weather_date = $day and w.hour = today.sched_dep_hour
        {' '.join(joins)}
    """
    return con.sql(query, params={"day": day}).pl()


def _differs(stored: pl.Expr, recomputed: pl.Expr, numeric: bool) -> pl.Expr:
    null_mismatch = stored.is_null() != recomputed.is_null()
    value_mismatch = (stored - recomputed).abs() > TOLERANCE if numeric else stored != recomputed
    return null_mismatch | value_mismatch.fill_null(False)


def compare_day(stored: pl.DataFrame, recomputed: pl.DataFrame) -> dict[str, int]:
    """Rows per feature where the stored value differs from the recompute (``rows`` if flights differ)."""
    joined = stored.join(recomputed, on="flight_id", how="full", suffix="_recomputed", coalesce=True)
    out = {}
    missing = joined.filter(pl.col("flight_date").is_null() | pl.col(f"{RECOMPUTED[0]}_recomputed").is_null()).height
    if missing:
        out["rows"] = missing
    for feature in RECOMPUTED:
        numeric = stored.schema[feature].is_numeric()
        n = joined.select(_differs(pl.col(feature), pl.col(f"{feature}_recomputed"), numeric).sum()).item()
        if n:
            out[feature] = n
    return out


def single_feature_auc(frame: pl.DataFrame, label: str = LABEL) -> dict[str, float]:
    """max(AUC, 1 - AUC) of each numeric or boolean column used alone as a score for ``label``."""
    out = {}
    for name, dtype in frame.schema.items():
        if name == label or name in KEY_COLUMNS or not (dtype.is_numeric() or dtype == pl.Boolean):
            continue
        pair = frame.select(pl.col(name).cast(pl.Float64).alias("x"), pl.col(label).alias("y")).drop_nulls()
        positives = pair.get_column("y").sum()
        negatives = pair.height - positives
        if positives == 0 or negatives == 0:
            continue
        rank_sum = pair.select(pl.col("x").rank("average").filter(pl.col("y")).sum()).item()
        auc = (rank_sum - positives * (positives + 1) / 2) / (positives * negatives)
        out[name] = max(auc, 1 - auc)
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def check(duckdb_path: Path, first: date, last: date, days: list[date] | None = None) -> LeakageReport:
    """Recompute the sampled days of ``first..last`` and look for label proxies among the window's features."""
    days = days or sample_days(first, last)
    report = LeakageReport(days)
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        for day in days:
            stored = con.sql(f"select * from {FEATURES} where flight_date = $day", params={"day": day}).pl()
            for feature, n in compare_day(stored, recompute_day(con, day)).items():
                report.mismatches[feature] = report.mismatches.get(feature, 0) + n
        window = con.sql(f"select * from {FEATURES} where flight_date between $first and $last",
                         params={"first": first, "last": last}).pl()
    report.auc = single_feature_auc(window)
    log.info(report.message())
    return report
