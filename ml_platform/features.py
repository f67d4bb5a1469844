"""The feature contract: one list of names, types and defaults shared by training and serving.

Training builds its matrix with :func:`to_matrix`, the service encodes a request with
:meth:`FeatureContract.encode_row`; both go through the same vocabulary and column order, so the
model sees the same numbers offline and online.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:  # polars is imported where frames are encoded; a serving worker encodes dicts only
    import polars as pl

LABEL = "is_delayed"
KEY_COLUMNS = ("flight_id", "flight_date")


@dataclass(frozen=True)
class Feature:
    name: str
    kind: str  # "categorical" | "numeric"
    description: str
    default: float | str | None = None  # used when a value is missing online; None = missing (NaN)
    minimum: float | None = None
    maximum: float | None = None


FEATURES: tuple[Feature, ...] = (
    Feature("carrier", "categorical", "two-letter carrier code"),
    Feature("origin", "categorical", "origin airport (FAA code)"),
    Feature("dest", "categorical", "destination airport (FAA code)"),
    Feature("month", "numeric", "month of the scheduled departure", minimum=1, maximum=12),
    Feature("day_of_week", "numeric", "ISO day of week, 1 = Monday", minimum=1, maximum=7),
    Feature("sched_dep_hour", "numeric", "scheduled departure hour, local", minimum=0, maximum=24),
    Feature("sched_arr_hour", "numeric", "scheduled arrival hour, local", minimum=0, maximum=24),
    Feature("distance", "numeric", "route distance in miles", minimum=1, maximum=6000),
    Feature("plane_age", "numeric", "years since the plane was built", minimum=0, maximum=80),
    Feature("seats", "numeric", "seats on the plane", minimum=1, maximum=1000),
    Feature("temp", "numeric", "origin temperature (F) at the scheduled hour", minimum=-60, maximum=130),
    Feature("humid", "numeric", "origin relative humidity at the scheduled hour", minimum=0, maximum=100),
    Feature("wind_speed", "numeric", "origin wind speed (mph) at the scheduled hour", minimum=0, maximum=300),
    Feature("precip", "numeric", "origin precipitation (in) at the scheduled hour", minimum=0, maximum=10),
    Feature("visib", "numeric", "origin visibility (miles) at the scheduled hour", minimum=0, maximum=20),
    Feature("carrier_delay_rate_7d", "numeric", "carrier's delayed share over the 7 days before D",
            minimum=0, maximum=1),
    Feature("route_delay_rate_28d", "numeric", "route's delayed share over the 28 days before D",
            minimum=0, maximum=1),
    Feature("origin_hour_delay_rate_28d", "numeric",
            "delayed share at this origin and departure hour over the 28 days before D", minimum=0, maximum=1),
    Feature("origin_volume_prev_day", "numeric", "flights out of the origin on D-1", minimum=0, maximum=5000),
)


@dataclass
class FeatureContract:
    """The features plus the category vocabulary learned from the training window."""

    features: tuple[Feature, ...] = FEATURES
    vocabulary: dict[str, list[str]] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [f.name for f in self.features]

    @property
    def categorical(self) -> list[str]:
        return [f.name for f in self.features if f.kind == "categorical"]

    def fit(self, frame: pl.DataFrame) -> FeatureContract:
        """Learn each categorical's vocabulary (sorted, so the codes are reproducible)."""
        missing = [n for n in self.names if n not in frame.columns]
        if missing:
            raise KeyError(f"feature frame lacks contract columns: {missing}")
        vocab = {
            name: sorted(v for v in frame.get_column(name).unique().to_list() if v is not None)
            for name in self.categorical
        }
        return FeatureContract(self.features, vocab)

    @cached_property
    def codes(self) -> dict[str, dict[str, int]]:
        """Category -> code per categorical feature, built once (the serving hot path reads it per row)."""
        return {name: {v: i for i, v in enumerate(values)} for name, values in self.vocabulary.items()}

    def to_matrix(self, frame: pl.DataFrame) -> np.ndarray:
        """Encode a feature frame as float32 in contract order; unknown categories become NaN."""
        import polars as pl

        columns = []
        codes = self.codes
        for feature in self.features:
            col = frame.get_column(feature.name)
            if feature.kind == "categorical":
                mapping = codes[feature.name]
                col = col.replace_strict(mapping, default=None, return_dtype=pl.Float32)
            columns.append(col.cast(pl.Float32).fill_null(float("nan")).to_numpy())
        return np.column_stack(columns).astype(np.float32, copy=False)

    def encode_row(self, row: dict[str, Any]) -> list[float]:
        """Encode one request exactly like :meth:`to_matrix` encodes a frame row."""
        codes = self.codes
        out: list[float] = []
        for feature in self.features:
            value = row.get(feature.name, feature.default)
            if feature.kind == "categorical":
                code = codes[feature.name].get(value) if value is not None else None
                out.append(float("nan") if code is None else float(code))
            else:
                out.append(float("nan") if value is None else float(value))
        return out

    def to_dict(self) -> dict[str, Any]:
        return {
            "features": [f.__dict__ for f in self.features],
            "vocabulary": self.vocabulary,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> FeatureContract:
        return cls(tuple(Feature(**f) for f in data["features"]), dict(data["vocabulary"]))


def request_for(row: dict[str, Any]) -> dict[str, Any]:
    """The contract's fields of one feature row: the body a client sends for that flight."""
    return {f.name: row[f.name] for f in FEATURES}


def labels(frame: pl.DataFrame) -> np.ndarray:
    """The label as 0/1 int8."""
    import polars as pl

    return frame.get_column(LABEL).cast(pl.Int8).to_numpy()
