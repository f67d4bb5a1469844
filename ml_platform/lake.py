"""The Parquet lake: atomic, idempotent writes of one file per table slice (a whole table or one day).

The lake's root is a local folder (the default) or an object-store URL such as ``s3://bucket/lake``
(MinIO and other S3-compatible stores through ``AWS_ENDPOINT_URL`` or ``?endpoint_override=``):
pyarrow picks the filesystem from the URL, so the engine code is the same for both. Locations under
a local root are ``Path`` objects, under a URL root ``str`` URLs.

Atomicity: a local file is written beside its target and renamed over it; an object is uploaded in
one PUT (or one multipart upload, which becomes visible only when it completes). Either way a reader
sees the old slice or the new one, never half of either.
"""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import polars as pl
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from ml_platform import atomic

Location = Path | str


def is_url(location: Location) -> bool:
    return isinstance(location, str) and "://" in location


def root(location: str | Path) -> Location:
    """A lake root from config: a URL stays a string, anything else is a local folder."""
    return str(location).rstrip("/") if is_url(str(location)) else Path(location)


def join(base: Location, *parts: str) -> Location:
    return "/".join([base, *parts]) if is_url(base) else Path(base).joinpath(*parts)


def table_dir(lake: Location, layer: str, table: str) -> Location:
    return join(lake, layer, table)


def partition_path(lake: Location, layer: str, table: str, day: date) -> Location:
    """The file holding one daily partition of a table."""
    return join(table_dir(lake, layer, table), f"{day.isoformat()}.parquet")


def filesystem(location: Location) -> tuple[pafs.FileSystem, str]:
    """The pyarrow filesystem a location lives on, and the location's path inside it."""
    if is_url(location):
        return pafs.FileSystem.from_uri(location)
    return pafs.LocalFileSystem(), str(location)


@contextmanager
def replacing(location: Location) -> Iterator[Path]:
    """Yield a local temp file; on success it replaces ``location`` atomically, on error nothing changes."""
    fs, path = filesystem(location)
    if isinstance(fs, pafs.LocalFileSystem):
        with atomic.replacing(Path(path)) as tmp:
            yield tmp
        return
    with tempfile.TemporaryDirectory(prefix="lake-upload-") as work:
        tmp = Path(work) / Path(path).name
        yield tmp
        with tmp.open("rb") as source, fs.open_output_stream(path) as sink:  # one object, visible when closed
            shutil.copyfileobj(source, sink, length=8 << 20)


def write_atomic(frame: pl.DataFrame, location: Location) -> Location:
    """Write ``frame`` (Parquet, or CSV with ``NA`` for nulls when the name ends in .csv) so that it
    replaces what was there in one step: writing the same slice again replaces it, never adds a copy."""
    with replacing(location) as tmp:
        if str(location).endswith(".csv"):
            frame.write_csv(tmp, null_value="NA")
        else:
            frame.write_parquet(tmp, compression="zstd", statistics=True)
    return location


def write_bytes(location: Location, data: bytes) -> Location:
    """Replace the file at ``location`` with ``data`` in one step (small files: JSON, profiles)."""
    with replacing(location) as tmp:
        tmp.write_bytes(data)
    return location


def read_bytes(location: Location) -> bytes | None:
    """The file's bytes, or None if there is none."""
    fs, path = filesystem(location)
    try:
        with fs.open_input_stream(path) as source:
            return source.read()
    except FileNotFoundError:
        return None


def files(folder: Location, suffix: str) -> list[Location]:
    """The files directly in ``folder`` whose names end in ``suffix``, by name; none if it does not exist."""
    fs, path = filesystem(folder)
    found = fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
    return [join(folder, info.base_name) for info in sorted(found, key=lambda i: i.base_name)
            if info.type == pafs.FileType.File and info.base_name.endswith(suffix)]


def read(location: Location) -> pl.DataFrame:
    fs, path = filesystem(location)
    with fs.open_input_file(path) as source:
        return pl.read_parquet(source)


def mtime_ns(location: Location) -> int | None:
    """When the file was last written, or None if there is none."""
    fs, path = filesystem(location)
    info = fs.get_file_info(path)
    return None if info.type == pafs.FileType.NotFound else info.mtime_ns


def num_rows(location: Location) -> int:
    """Row count from the Parquet footer, without reading the data."""
    fs, path = filesystem(location)
    with fs.open_input_file(path) as source:
        return pq.ParquetFile(source).metadata.num_rows
