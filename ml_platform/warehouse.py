"""Read-only access to the DuckDB warehouse that dbt builds."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

from ml_platform.days import days_between

FEATURES_TABLE = "features.flight_features"
SCHEDULE_TABLE = "staging.stg_flights"


def read_features(duckdb_path: Path, start: date | None = None, end: date | None = None) -> pl.DataFrame:
    """Feature rows with ``start <= flight_date <= end`` (either bound optional), in date order."""
    return _read(duckdb_path, FEATURES_TABLE, start, end)


def read_schedule(duckdb_path: Path, start: date | None = None, end: date | None = None) -> pl.DataFrame:
    """Staged flights (schedule, tail number, outcome) of ``start..end``, in the features' row order."""
    return _read(duckdb_path, SCHEDULE_TABLE, start, end)


def _read(duckdb_path: Path, table: str, start: date | None, end: date | None) -> pl.DataFrame:
    if not Path(duckdb_path).exists():
        raise FileNotFoundError(f"DuckDB warehouse not found at {duckdb_path}: materialize features first")
    clauses, params = [], []
    if start is not None:
        clauses.append("flight_date >= ?")
        params.append(start)
    if end is not None:
        clauses.append("flight_date <= ?")
        params.append(end)
    where = f"where {' and '.join(clauses)}" if clauses else ""
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        query = f"select * from {table} {where} order by flight_date, flight_id"
        return con.sql(query, params=params).pl()


@dataclass(frozen=True)
class DailyRelation:
    """A relation (``schema.table`` or a quoted dbt relation name) partitioned by a date column."""

    relation: str
    date_column: str


def row_counts(duckdb_path: Path, relations: Iterable[str]) -> dict[str, int]:
    """``count(*)`` of each relation."""
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        return {relation: con.execute(f"select count(*) from {relation}").fetchone()[0] for relation in relations}


def daily_row_counts(duckdb_path: Path, relations: Iterable[DailyRelation], first: date, last: date
                     ) -> dict[DailyRelation, dict[date, int]]:
    """Rows of each day of ``first..last`` (inclusive) in each relation; a day without rows counts 0."""
    days = days_between(first, last)
    counts = {}
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        for daily in relations:
            by_day = dict(con.execute(f"select {daily.date_column}::date, count(*) from {daily.relation} "
                                      f"where {daily.date_column} between ? and ? group by 1", [first, last]).fetchall())
            counts[daily] = {day: by_day.get(day, 0) for day in days}
    return counts
