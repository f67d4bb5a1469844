"""Request and response models of the service, generated from the feature contract."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field, create_model

from ml_platform.features import FEATURES, Feature


def _field(feature: Feature) -> tuple[Any, Any]:
    if feature.kind == "categorical":
        return str, Field(..., min_length=2, max_length=4, description=feature.description)
    return float | None, Field(None, ge=feature.minimum, le=feature.maximum, description=feature.description)


Flight = create_model(  # type: ignore[call-overload]
    "Flight",
    __config__=ConfigDict(extra="forbid"),
    __doc__="A flight as known when it is scheduled: the feature contract's fields.",
    **{f.name: _field(f) for f in FEATURES},
)


class Prediction(BaseModel):
    probability: float = Field(..., ge=0.0, le=1.0, description="P(arrival delay > 15 min)")
    model_name: str
    model_version: str
