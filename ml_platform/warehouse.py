"""Read-only access to the DuckDB warehouse that dbt builds."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import polars as pl

FEATURES_TABLE = "features.flight_features"


def read_features(duckdb_path: Path, start: date | None = None, end: date | None = None) -> pl.DataFrame:
    """Feature rows with ``start <= flight_date <= end`` (either bound optional), in date order."""
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
        query = f"select * from {FEATURES_TABLE} {where} order by flight_date, flight_id"
        return con.sql(query, params=params).pl()


def latest_day(duckdb_path: Path) -> date | None:
    """The newest day the features table has (None when it is empty)."""
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        return con.execute(f"select max(flight_date) from {FEATURES_TABLE}").fetchone()[0]


@dataclass(frozen=True)
class RowCount:
    """What to count: a relation (``schema.table`` or a quoted dbt relation name), optionally by a date column."""

    relation: str
    date_column: str | None = None


def row_counts(duckdb_path: Path, queries: Iterable[RowCount], window: tuple[date, date] | None = None
               ) -> dict[RowCount, int]:
    """``count(*)`` of each relation; restricted to ``window`` (inclusive) where a date column is named."""
    counts = {}
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        for query in queries:
            if query.date_column and window:
                sql = f"select count(*) from {query.relation} where {query.date_column} between ? and ?"
                counts[query] = con.execute(sql, list(window)).fetchone()[0]
            else:
                counts[query] = con.execute(f"select count(*) from {query.relation}").fetchone()[0]
    return counts
