"""The landing zone: where the source system drops one CSV per day per table.

Layout under ``$ML_PLATFORM_HOME/landing/``::

    flights/2013-03-05.csv            a day's file, as the source sends it (``NA`` for missing)
    weather/2013-03-05.csv
    quarantine/flights/2013-03-05.csv            a file that broke its contract, moved aside
    quarantine/flights/2013-03-05.reason.txt     what was wrong with it

Dropping a day again replaces its file atomically (temp file + rename), so a reader never sees half a file.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import date, datetime, timezone
from pathlib import Path

import polars as pl

from ml_platform import lake, sources

log = logging.getLogger(__name__)

DAILY_TABLES = ("flights", "weather")
QUARANTINE = "quarantine"


@dataclass(frozen=True)
class LandedFile:
    table: str
    day: date
    path: Path
    mtime_ns: int


def landing_path(root: Path, table: str, day: date) -> Path:
    return root / table / f"{day.isoformat()}.csv"


def quarantine_path(root: Path, table: str, day: date) -> Path:
    return root / QUARANTINE / table / f"{day.isoformat()}.csv"


@dataclass(frozen=True)
class InjectedDrift:
    """A deliberate upstream change for replays: from ``start`` on, the weather feed reports temperatures
    in Celsius instead of Fahrenheit (still inside the contract's range, so only monitoring can see it)."""

    start: date
    table: str = "weather"
    column: str = "temp"

    def apply(self, table: str, day: date, frame: pl.DataFrame) -> pl.DataFrame:
        if table != self.table or day < self.start:
            return frame
        return frame.with_columns(((pl.col(self.column) - 32) * 5 / 9).round(2))


def land(root: Path, start: date, end: date, sample_every: int = 1,
         drift: InjectedDrift | None = None) -> list[LandedFile]:
    """Drop the source's files for ``start..end`` (inclusive) into the landing zone, one per day per table.

    ``sample_every`` thins the flights (every n-th) for fast whole-loop tests; ``drift`` alters the
    files as an upstream change would.
    """
    if end < start:
        raise ValueError(f"landing window ends ({end}) before it starts ({start})")
    landed = []
    for table in DAILY_TABLES:
        frame = sources.read_table(table, sample_every=sample_every)
        frame = frame.with_columns(_day=pl.date("year", "month", "day")).filter(pl.col("_day").is_between(start, end))
        for (day,), part in sorted(frame.partition_by("_day", as_dict=True).items()):
            part = drift.apply(table, day, part.drop("_day")) if drift else part.drop("_day")
            path = lake.write_atomic(part, landing_path(root, table, day))
            landed.append(LandedFile(table, day, path, path.stat().st_mtime_ns))
    log.info("landed %d files for %s..%s in %s", len(landed), start, end, root)
    return landed


def landed_files(root: Path) -> list[LandedFile]:
    """Every day file waiting in the landing zone (quarantined files excluded), oldest change first."""
    found = []
    for table in DAILY_TABLES:
        for path in (root / table).glob("*.csv"):
            try:
                day = date.fromisoformat(path.stem)
            except ValueError:
                log.warning("ignoring %s: not named <YYYY-MM-DD>.csv", path)
                continue
            found.append(LandedFile(table, day, path, path.stat().st_mtime_ns))
    return sorted(found, key=lambda f: (f.mtime_ns, f.table, f.day))


def pending(files: list[LandedFile], seen: dict[str, int], lake_root: lake.Location
            ) -> tuple[dict[date, set[str]], dict[str, int]]:
    """Files new or re-dropped since ``seen`` (``table/day`` -> mtime_ns) and newer than the day's stored
    partition: the tables per day, and the new ``seen``."""
    days: dict[date, set[str]] = {}
    updated = dict(seen)
    for f in files:
        name = f"{f.table}/{f.day.isoformat()}"
        stored = lake.mtime_ns(lake.partition_path(lake_root, "raw", f.table, f.day))
        if seen.get(name) != f.mtime_ns and not (stored is not None and stored >= f.mtime_ns):
            days.setdefault(f.day, set()).add(f.table)
        updated[name] = f.mtime_ns
    return days, updated


def contiguous_runs(days: dict[date, set[str]]) -> list[tuple[date, date, set[str]]]:
    """Consecutive days with the same tables, merged into (first, last, tables) windows."""
    runs: list[tuple[date, date, set[str]]] = []
    for day in sorted(days):
        if runs and (day - runs[-1][1]).days == 1 and runs[-1][2] == days[day]:
            runs[-1] = (runs[-1][0], day, runs[-1][2])
        else:
            runs.append((day, day, days[day]))
    return runs


def read_landed(path: Path) -> pl.DataFrame:
    """A landed CSV with the source's conventions (``NA`` = missing, types inferred over the whole file)."""
    return pl.read_csv(path, null_values="NA", infer_schema_length=None)


def ends_mid_line(path: Path) -> bool:
    """A non-empty file whose last byte is not a newline was cut off in transfer."""
    with path.open("rb") as handle:
        if handle.seek(0, 2) == 0:
            return False
        handle.seek(-1, 2)
        return handle.read(1) != b"\n"


def quarantine(root: Path, table: str, day: date, reasons: list[str]) -> Path:
    """Move a bad day file out of the landing zone, next to a file saying what was wrong with it."""
    target = quarantine_path(root, table, day)
    target.parent.mkdir(parents=True, exist_ok=True)
    landing_path(root, table, day).replace(target)
    stamp = datetime.now(timezone.utc).isoformat(timespec="seconds")
    reason = "\n".join([f"{table} {day.isoformat()} quarantined at {stamp}: the stored partition was kept",
                        *(f"- {r}" for r in reasons)])
    target.with_suffix(".reason.txt").write_text(reason + "\n")
    log.warning("quarantined %s: %s", target, "; ".join(reasons))
    return target
