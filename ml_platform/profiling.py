"""whylogs profiles, kept behind this one module so the profiler can be replaced."""

from __future__ import annotations


import os
from collections.abc import Mapping
from datetime import date, timedelta

import numpy as np
import polars as pl

if not hasattr(np, "unicode_"):  # whylogs 1.6 still references np.unicode_, removed in NumPy 2
    np.unicode_ = np.str_  # type: ignore[attr-defined]

os.environ.setdefault("WHYLOGS_NO_ANALYTICS", "True")  # read when whylogs is imported: no usage pings home

import whylogs as why  # noqa: E402
from whylogs.core import DatasetProfileView  # noqa: E402
from whylogs.core.datatypes import AnyType, Fractional, Integral, String  # noqa: E402
from whylogs.core.metrics import StandardMetric  # noqa: E402
from whylogs.core.preprocessing import ColumnProperties  # noqa: E402
from whylogs.core.resolvers import MetricSpec, ResolverSpec  # noqa: E402
from whylogs.core.schema import DeclarativeSchema  # noqa: E402

from ml_platform import lake  # noqa: E402

SUMMARY_COLUMNS = {
    "counts/n": "count",
    "counts/null": "nulls",
    "distribution/mean": "mean",
    "distribution/stddev": "stddev",
    "distribution/min": "min",
    "distribution/max": "max",
    "cardinality/est": "distinct",
}


def _metrics(*names: str) -> list[MetricSpec]:
    return [MetricSpec(getattr(StandardMetric, name).value) for name in ("counts", *names)]


# whylogs' standard schema cut to what the platform reads: counts (rows, nulls), the distribution (KS
# drift, the summary), cardinality (the summary) and, for strings, frequent items (category drift).
# Left out, each paid for on every value logged and every stored profile read: string unicode ranges
# and lengths (a third of logging and merging a day); integer min/max (the distribution has them);
# integer frequent items (integers drift by KS); inferred types (the contract checks types before a row
# lands; they were 60 % of the time of reading a stored profile)
RESOLVERS = [
    ResolverSpec(column_type=Integral, metrics=_metrics("distribution", "cardinality")),
    ResolverSpec(column_type=Fractional, metrics=_metrics("distribution", "cardinality")),
    ResolverSpec(column_type=String, metrics=_metrics("cardinality", "frequent_items")),
    ResolverSpec(column_type=AnyType, metrics=_metrics()),
]
KS_QUANTILES = np.linspace(0, 1, 100).tolist()  # where the two CDFs are compared, as whylogs' KS test does


def profile(frame: pl.DataFrame) -> DatasetProfileView:
    """Profile a frame, feeding whylogs the forms it logs without a Python call per value.

    Given object columns, whylogs type-checks each value with six lambdas, and it runs an ``isinf``
    lambda over each float. Strings go in as pandas' string dtype, and float columns with no null,
    NaN or inf are declared homogeneous (whylogs' own schema property): the same profile, in about
    60 % of the time for a day of features (measured).
    """
    pandas_frame = frame.to_pandas(use_pyarrow_extension_array=False).astype(
        {name: "string[python]" for name, dtype in frame.schema.items() if dtype == pl.String})
    whole = {name: (pandas_frame.dtypes[name], ColumnProperties.homogeneous)
             for name, dtype in frame.schema.items() if dtype.is_float() and _finite(frame.get_column(name))}
    # a schema per profile: a whylogs schema remembers every column it has resolved, so a shared one
    # would give each profile the columns of all the frames logged before it
    return why.log(pandas=pandas_frame, schema=DeclarativeSchema(RESOLVERS, types=whole)).view()


def _finite(column: pl.Series) -> bool:
    return column.null_count() == 0 and bool(column.is_finite().all())


def write(view: DatasetProfileView, location: lake.Location) -> lake.Location:
    """Serialize atomically, on a local folder or the object-store lake: a reader never sees half a profile."""
    return lake.write_bytes(location, view.serialize())


def read(location: lake.Location) -> DatasetProfileView:
    data = lake.read_bytes(location)
    if data is None:
        raise FileNotFoundError(f"no whylogs profile at {location}")
    return DatasetProfileView.deserialize(data)


def trailing_merges(views: Mapping[date, DatasetProfileView], days: list[date],
                    width: int) -> dict[date, DatasetProfileView]:
    """For each of ``days``, its view merged with those of the ``width - 1`` days before it (where they exist).

    Sliding-window aggregation in blocks of ``width`` days: a window is the tail of one block merged with
    the head of the next, and heads and tails are running merges, so a day costs about three merges
    instead of ``width - 1`` (merging is most of the time of a drift score).
    """
    origin = min(days) - timedelta(days=width - 1)
    span = [views.get(origin + timedelta(days=n)) for n in range((max(days) - origin).days + 1)]
    heads: list[DatasetProfileView | None] = []
    tails: list[DatasetProfileView | None] = [None] * len(span)
    for start in range(0, len(span), width):
        block = range(start, min(start + width, len(span)))
        for n in block:
            heads.append(_merge(heads[-1] if n > start else None, span[n]))
        for n in reversed(block):
            tails[n] = _merge(tails[n + 1] if n + 1 < block.stop else None, span[n])
    windows = {}
    for day in days:
        last = (day - origin).days
        first = last - width + 1
        windows[day] = heads[last] if first % width == 0 else _merge(tails[first], heads[last])
    return windows


def _merge(a: DatasetProfileView | None, b: DatasetProfileView | None) -> DatasetProfileView | None:
    return b if a is None else a if b is None else a.merge(b)


def summary(view: DatasetProfileView) -> pl.DataFrame:
    """Per-column count, nulls, mean, spread and cardinality, for people to read in the UI."""
    frame = view.to_pandas().reset_index(names="column")
    keep = ["column", *[c for c in SUMMARY_COLUMNS if c in frame.columns]]
    return pl.from_pandas(frame[keep]).rename(SUMMARY_COLUMNS)


def drift_scores(target: DatasetProfileView, reference: DatasetProfileView, columns: list[str]) -> dict[str, dict]:
    """Per-column drift as an effect size in [0, 1], comparable across days of any size.

    Numeric columns: the Kolmogorov-Smirnov statistic D from the two KLL sketches. Categorical
    columns: total variation distance between the frequent-item distributions. p-values are not
    used: on tens of thousands of rows every difference is "significant".
    """
    from whylogs.viz.utils.frequent_items_calculations import get_frequent_stats

    scores: dict[str, dict] = {}
    for name in columns:
        t_col, r_col = target.get_column(name), reference.get_column(name)
        if t_col is None or r_col is None:
            raise KeyError(f"column {name!r} is missing from a profile")
        ks = ks_statistic(t_col, r_col)
        if ks is not None:
            scores[name] = {"algorithm": "ks", "score": ks}
            continue
        t_freq, r_freq = get_frequent_stats(t_col, config=None), get_frequent_stats(r_col, config=None)
        if not t_freq or not r_freq:
            continue
        t_share = {i["value"]: i["estimate"] / t_freq["total_count"] for i in t_freq["frequent_items"]}
        r_share = {i["value"]: i["estimate"] / r_freq["total_count"] for i in r_freq["frequent_items"]}
        tvd = 0.5 * sum(abs(t_share.get(k, 0.0) - r_share.get(k, 0.0)) for k in t_share.keys() | r_share.keys())
        scores[name] = {"algorithm": "total_variation", "score": float(min(tvd, 1.0))}
    return scores


def ks_statistic(target, reference) -> float | None:
    """Kolmogorov-Smirnov D between two columns' KLL sketches; None for columns without numbers.

    The largest CDF gap at both sketches' quantiles, as whylogs' KS test computes it, without the
    p-value it derives next (half of that test's time, and not used here).
    """
    sketches = []
    for column in (target, reference):
        metric = column.get_metric("distribution")
        if metric is None or metric.kll.value.is_empty():
            return None
        sketches.append(metric.kll.value)
    points = sorted({*sketches[0].get_quantiles(KS_QUANTILES), *sketches[1].get_quantiles(KS_QUANTILES)})
    gaps = np.abs(np.subtract(sketches[0].get_cdf(points), sketches[1].get_cdf(points)))
    return float(gaps.max())
