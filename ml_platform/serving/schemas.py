"""Request models of the service, generated from the feature contract the served model was trained with.

Every field, bound and category comes from the contract (for a scheduled flight, the contract minus
what the online snapshot looks up), so a feature added to ``FEATURES`` shows up here without an edit;
a category the model never saw is refused (422 naming the field) rather than silently scored as missing.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model

from ml_platform.features import Feature, FeatureContract
from ml_platform.serving.online import OnlineFeatures

MAX_BATCH_ROWS = 10_000


def _known_category(feature: Feature, values: list[str]) -> AfterValidator:
    allowed = frozenset(values)

    def check(value: str) -> str:
        if value not in allowed:
            raise ValueError(f"unknown {feature.name} {value!r}: the model knows {len(allowed)} values")
        return value

    return AfterValidator(check)


def _field(feature: Feature, vocabulary: dict[str, list[str]]) -> tuple[Any, Any]:
    if feature.kind == "categorical":
        kind: Any = Annotated[str, _known_category(feature, vocabulary.get(feature.name, []))]
        return kind, Field(..., min_length=2, max_length=4, description=feature.description)
    return float | None, Field(None, ge=feature.minimum, le=feature.maximum, allow_inf_nan=False,
                               description=feature.description)


def _scheduled_field(name: str, contract: FeatureContract, keys: set[str]) -> tuple[Any, Any]:
    """A feature the client sends is required (known at schedule time); a key-only field (tailnum) is optional.

    A numeric lookup key (the departure hour) must be a whole number: 17.5 would silently miss its key.
    """
    feature = next((f for f in contract.features if f.name == name), None)
    if feature is None:
        return str | None, Field(None, min_length=1, max_length=16, description=f"lookup key {name}")
    kind, spec = _field(feature, contract.vocabulary)
    if feature.kind == "numeric":
        kind, spec = int if name in keys else float, Field(..., ge=feature.minimum, le=feature.maximum,
                                                           allow_inf_nan=False, description=feature.description)
    return kind, spec


def _served_day(day: date) -> AfterValidator:
    def check(value: date) -> date:
        if value != day:
            raise ValueError(f"the online features are for flights on {day}, not {value}")
        return value

    return AfterValidator(check)


def _bodies(name: str, flight: type[BaseModel]) -> tuple[type[BaseModel], type[BaseModel]]:
    single = create_model(f"{name}Request", __config__=ConfigDict(extra="forbid"), flight=(flight, ...),
                          request_id=(str | None, Field(None, max_length=128)))
    batch = create_model(
        f"{name}BatchRequest",
        __config__=ConfigDict(extra="forbid"),
        flights=(list[flight], Field(..., min_length=1, max_length=MAX_BATCH_ROWS)),  # type: ignore[valid-type]
    )
    return single, batch


def request_models(contract: FeatureContract) -> tuple[type[BaseModel], type[BaseModel]]:
    """``({"flight": {...}}, {"flights": [...]})`` bodies carrying every feature of the contract."""
    flight = create_model(  # type: ignore[call-overload]
        "Features",
        __config__=ConfigDict(extra="forbid"),
        __doc__="A flight's point-in-time features: the feature contract's fields.",
        **{f.name: _field(f, contract.vocabulary) for f in contract.features},
    )
    return _bodies("PredictFeatures", flight)


def scheduled_models(contract: FeatureContract, online: OnlineFeatures) -> tuple[type[BaseModel], type[BaseModel]]:
    """Bodies carrying a flight as known at schedule time; the snapshot supplies the rest of the contract."""
    flight = create_model(  # type: ignore[call-overload]
        "ScheduledFlight",
        __config__=ConfigDict(extra="forbid"),
        __doc__="A flight as known when it is scheduled; its aggregates, weather and plane are looked up.",
        date=(Annotated[date, _served_day(online.day)], Field(..., description="scheduled departure day")),
        **{name: _scheduled_field(name, contract, online.keys) for name in online.request_fields(contract.features)},
    )
    return _bodies("Predict", flight)
