"""monitoring/*: whylogs profiles of what the champion scored."""

from datetime import date

import dagster as dg

from assets.metadata import frame_table
from ml_platform import lake, monitoring, profiling, registry
from ml_platform.settings import MODEL_NAME
from resources.storage import LakeResource, WarehouseResource


class ProfileConfig(dg.Config):
    """The window of feature days to score and profile (the holdout by default)."""

    start: str = "2013-10-01"
    end: str = "2013-12-31"


@dg.asset(
    key=["monitoring", "feature_profile"],
    deps=[["features", "flight_features"], ["models", "champion"]],
    group_name="monitoring",
    kinds={"whylogs"},
)
def feature_profile(
    context: dg.AssetExecutionContext, config: ProfileConfig, warehouse: WarehouseResource, lake_store: LakeResource
) -> dg.MaterializeResult:
    """A whylogs profile of the features the champion scored and of its predictions."""
    model = registry.load_model(MODEL_NAME)
    frame = warehouse.read_features(date.fromisoformat(config.start), date.fromisoformat(config.end))
    result = monitoring.profile_scored(frame, model)
    path = profiling.write(result.view, lake.join(lake_store.location, "monitoring", "feature_profile",
                                                  f"{config.start}_{config.end}_v{model.version}.bin"))
    context.log.info(f"profiled {result.scored.height} scored rows into {path}")
    return dg.MaterializeResult(
        metadata={
            "dagster/row_count": result.scored.height,
            "model_version": model.version,
            "mean_prediction": float(result.scored.get_column(monitoring.PREDICTION).mean()),
            "profile": dg.MetadataValue.path(str(path)),
            "summary": frame_table(profiling.summary(result.view), max_rows=40),
        }
    )
