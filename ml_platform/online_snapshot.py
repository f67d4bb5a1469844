"""Build the online feature snapshot for serving day D from the warehouse (the service never opens DuckDB).

Each lookup table holds what ``features.flight_features`` joins a flight of D with, computed from
staging with the same point-in-time windows (``leakage.AGGREGATES``: days strictly before D), plus
D's weather by origin and hour and the planes. Every table covers every key with history, not only
the keys of D's flights, so a flight added to the schedule later still finds its aggregates.
"""

from __future__ import annotations

import json
import logging
from datetime import date
from pathlib import Path

import duckdb

from ml_platform import atomic
from ml_platform.features import FEATURES
from ml_platform.leakage import AGGREGATES, FLIGHTS, WEATHER, WEATHER_AT_DEPARTURE
from ml_platform.serving.online import LookupTable, OnlineFeatures, scheduled_request

log = logging.getLogger(__name__)

PLANES = "staging.stg_planes"
PLANE_FEATURES = ("plane_age", "seats")


def _table(con: duckdb.DuckDBPyConnection, name: str, keys: tuple[str, ...], features: tuple[str, ...],
           fallback: tuple, sql: str, day: date) -> LookupTable:
    rows = con.sql(sql, params={"day": day}).fetchall()
    n = len(keys)
    return LookupTable(name, keys, features, fallback, {tuple(r[:n]): tuple(r[n:]) for r in rows})


def build(duckdb_path: Path, day: date) -> OnlineFeatures:
    """The lookup tables for flights scheduled on ``day``; D's schedule and weather must be in staging."""
    with duckdb.connect(str(duckdb_path), read_only=True) as con:
        scheduled = con.sql(f"select * from {FLIGHTS} where flight_date = $day order by flight_id limit 1",
                            params={"day": day}).pl()
        if scheduled.is_empty():
            raise ValueError(f"no flights scheduled on {day} in {FLIGHTS}: land and build that day first")
        tables = [
            _table(con, a.feature, a.keys, (a.feature,), (0,) if a.stat == "volume" else (None,), a.sql(), day)
            for a in AGGREGATES
        ]
        tables.append(_table(
            con, "weather", ("origin", "sched_dep_hour"), WEATHER_AT_DEPARTURE, (None,) * len(WEATHER_AT_DEPARTURE),
            f"select origin, hour, {', '.join(WEATHER_AT_DEPARTURE)} from {WEATHER} where weather_date = $day", day,
        ))
        tables.append(_table(
            con, "plane", ("tailnum",), PLANE_FEATURES, (None,) * len(PLANE_FEATURES),
            f"select tailnum, year($day) - plane_year, seats from {PLANES}", day,
        ))
    online = OnlineFeatures(day, tuple(tables), {})
    _check_covers_contract(online)
    return OnlineFeatures(day, online.tables, scheduled_request(scheduled.row(0, named=True), online))


def _check_covers_contract(online: OnlineFeatures) -> None:
    """Every looked-up name is a contract feature (a renamed feature fails here, not silently online)."""
    unknown = online.looked_up - {f.name for f in FEATURES}
    if unknown:
        raise KeyError(f"online tables fill features the contract does not have: {sorted(unknown)}")


def write(online: OnlineFeatures, path: Path) -> Path:
    """Atomically replace the snapshot file, so a starting worker reads the old one or the new one."""
    return atomic.write_text(Path(path), json.dumps(online.to_dict(), separators=(",", ":")))
