"""Small builders for metadata people read in the Dagster UI."""

import base64
from collections.abc import Mapping
from datetime import date
from typing import Any

import dagster as dg
import polars as pl


def metrics_table(metrics: Mapping[str, float]) -> dg.MetadataValue:
    rows = "\n".join(f"| {name} | {value:.4f} |" for name, value in metrics.items())
    return dg.MetadataValue.md(f"| metric | value |\n|---|---|\n{rows}")


def frame_table(frame: pl.DataFrame, max_rows: int = 30) -> dg.MetadataValue:
    return dg.MetadataValue.md(frame.head(max_rows).to_pandas().to_markdown(index=False, floatfmt=".4g"))


def column_schema(frame: pl.DataFrame) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(name, str(dtype)) for name, dtype in frame.schema.items()])


def records_table(records: list[dict], columns: list[str] | None = None) -> dg.MetadataValue:
    """A markdown table of dict records (numbers to 4 places); empty-safe."""
    if not records:
        return dg.MetadataValue.md("_none yet_")
    columns = columns or list(records[0])

    def cell(value: object) -> str:
        return f"{value:.4f}" if isinstance(value, float) else str(value if value is not None else "")

    lines = ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)]
    lines += ["| " + " | ".join(cell(r.get(c)) for c in columns) + " |" for r in records]
    return dg.MetadataValue.md("\n".join(lines))


def png(image: bytes) -> dg.MetadataValue:
    """A PNG the UI shows inline (a data URI in markdown, as Dagster's own examples do)."""
    return dg.MetadataValue.md(f"![plot](data:image/png;base64,{base64.b64encode(image).decode()})")


def per_partition(context: dg.AssetExecutionContext, by_day: Mapping[date, Mapping[str, Any]],
                  asset_key: dg.AssetKey | None = None) -> None:
    """Each day's metadata onto that day's partition only.

    A range run's result metadata is copied onto every partition it materialized: a window's total row
    count would read as each day's, and a plot would be stored once per day.
    """
    for day, metadata in by_day.items():
        context.add_asset_metadata(metadata, asset_key=asset_key, partition_key=day.isoformat())
