"""Small builders for metadata people read in the Dagster UI."""

from collections.abc import Mapping

import dagster as dg
import polars as pl


def metrics_table(metrics: Mapping[str, float]) -> dg.MetadataValue:
    rows = "\n".join(f"| {name} | {value:.4f} |" for name, value in metrics.items())
    return dg.MetadataValue.md(f"| metric | value |\n|---|---|\n{rows}")


def frame_table(frame: pl.DataFrame, max_rows: int = 30) -> dg.MetadataValue:
    return dg.MetadataValue.md(frame.head(max_rows).to_pandas().to_markdown(index=False, floatfmt=".4g"))


def column_schema(frame: pl.DataFrame) -> dg.TableSchema:
    return dg.TableSchema(columns=[dg.TableColumn(name, str(dtype)) for name, dtype in frame.schema.items()])
