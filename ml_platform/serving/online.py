"""Online point-in-time features: the snapshot a serving worker joins a scheduled flight with, in memory.

A snapshot holds, for one serving day D, every lookup table the offline features join a flight of D
with: aggregates of the days before D per carrier, route, origin hour and origin; the origin's weather
by hour of D; the planes. :mod:`ml_platform.online_snapshot` writes it from the warehouse; a worker
loads the JSON file once and never opens DuckDB. A key the snapshot lacks gets its table's fallback,
which is what the features' left join gives a flight without history (missing, or 0 for a volume).
The request carries the rest of the contract's features plus the lookup keys that are not features.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

from ml_platform.features import FEATURES, Feature

SNAPSHOT_FILE = "online_features.json"
# contract features a flight's date determines, derived as staging derives them (isodow: Monday = 1)
DATE_PARTS: dict[str, Callable[[date], int]] = {"month": lambda d: d.month, "day_of_week": lambda d: d.isoweekday()}


@dataclass(frozen=True)
class LookupTable:
    """``keys`` (request or feature values) -> values of ``features``; ``fallback`` for a key not present."""

    name: str
    keys: tuple[str, ...]
    features: tuple[str, ...]
    fallback: tuple[Any, ...]
    rows: dict[tuple, tuple]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "keys": list(self.keys), "features": list(self.features),
                "fallback": list(self.fallback), "rows": [[*k, *v] for k, v in self.rows.items()]}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> LookupTable:
        n = len(data["keys"])
        rows = {tuple(r[:n]): tuple(r[n:]) for r in data["rows"]}
        return cls(data["name"], tuple(data["keys"]), tuple(data["features"]), tuple(data["fallback"]), rows)


@dataclass(frozen=True)
class OnlineFeatures:
    """The lookup tables for flights scheduled on ``day``, and one real flight of that day (the smoke request)."""

    day: date
    tables: tuple[LookupTable, ...]
    example: dict[str, Any]

    @property
    def looked_up(self) -> set[str]:
        return {name for table in self.tables for name in table.features}

    @property
    def keys(self) -> set[str]:
        return {name for table in self.tables for name in table.keys}

    def request_fields(self, features: tuple[Feature, ...] = FEATURES) -> list[str]:
        """What a client sends besides the date: the features neither looked up nor dated, then key-only fields."""
        derived = self.looked_up | set(DATE_PARTS)
        sent = [f.name for f in features if f.name not in derived]
        keys = [k for t in self.tables for k in t.keys if k not in derived and k not in sent]
        return [*sent, *dict.fromkeys(keys)]

    def feature_row(self, flight: dict[str, Any]) -> dict[str, Any]:
        """The contract's feature values of a validated request: dict lookups only, no frame."""
        row = dict(flight)
        day = row.pop("date")
        for name, part in DATE_PARTS.items():
            row[name] = part(day)
        for table in self.tables:
            values = table.rows.get(tuple([row[k] for k in table.keys]), table.fallback)
            row.update(zip(table.features, values, strict=True))
        return row

    def to_dict(self) -> dict[str, Any]:
        return {"day": self.day.isoformat(), "tables": [t.to_dict() for t in self.tables], "example": self.example}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> OnlineFeatures:
        return cls(date.fromisoformat(data["day"]), tuple(LookupTable.from_dict(t) for t in data["tables"]),
                   dict(data["example"]))

    @classmethod
    def load(cls, path: Path) -> OnlineFeatures:
        return cls.from_dict(json.loads(Path(path).read_text()))


def scheduled_request(row: dict[str, Any], online: OnlineFeatures) -> dict[str, Any]:
    """The body a client sends for one scheduled flight (a ``staging.stg_flights`` row)."""
    return {"date": row["flight_date"].isoformat(), **{name: row[name] for name in online.request_fields()}}
