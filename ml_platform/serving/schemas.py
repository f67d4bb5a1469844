"""Request models of the service, generated from the feature contract the served model was trained with.

Every field, bound and category comes from the contract, so a feature added to ``FEATURES`` shows up
here without an edit; a category the model never saw is refused (422 naming the field) rather than
silently scored as missing.
"""

from __future__ import annotations

from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, create_model

from ml_platform.features import Feature, FeatureContract

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


def request_models(contract: FeatureContract) -> tuple[type[BaseModel], type[BaseModel]]:
    """``({"flight": {...}}, {"flights": [...]})`` bodies for the single-row and batch endpoints."""
    flight = create_model(  # type: ignore[call-overload]
        "Flight",
        __config__=ConfigDict(extra="forbid"),
        __doc__="A flight as known when it is scheduled: the feature contract's fields.",
        **{f.name: _field(f, contract.vocabulary) for f in contract.features},
    )
    single = create_model("PredictRequest", __config__=ConfigDict(extra="forbid"), flight=(flight, ...))
    batch = create_model(
        "PredictBatchRequest",
        __config__=ConfigDict(extra="forbid"),
        flights=(list[flight], Field(..., min_length=1, max_length=MAX_BATCH_ROWS)),  # type: ignore[valid-type]
    )
    return single, batch
