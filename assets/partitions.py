"""The daily partitions of the flight year, shared by raw, staging and features."""

from datetime import date, timedelta

import dagster as dg

FIRST_DAY, LAST_DAY = date(2013, 1, 1), date(2013, 12, 31)

daily_partitions = dg.DailyPartitionsDefinition(
    start_date=FIRST_DAY.isoformat(), end_date=(LAST_DAY + timedelta(days=1)).isoformat()
)


def window_days(context: dg.AssetExecutionContext | dg.AssetCheckExecutionContext) -> tuple[date, date]:
    """First and last day (inclusive) of the run's partition window: one day, or a whole backfill range."""
    window = context.partition_time_window
    return window.start.date(), (window.end - timedelta(days=1)).date()
