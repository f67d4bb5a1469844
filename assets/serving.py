"""serving/*: the bento built from the code, and the service running it on 127.0.0.1."""

from datetime import date

import dagster as dg

from ml_platform import registry
from ml_platform.features import request_for
from ml_platform.serving.deploy import DeploymentError
from ml_platform.settings import MODEL_NAME
from resources.serving import BentoResource
from resources.storage import WarehouseResource

SMOKE_DAY = date(2013, 12, 31)


@dg.asset(key=["serving", "bento"], deps=[["models", "champion"]], group_name="serving", kinds={"bentoml"})
def bento(context: dg.AssetExecutionContext, bentoml: BentoResource) -> dg.Output[str]:
    """The service packaged with `bentoml build` (offline); the model is loaded from MLflow at start."""
    tag = bentoml.build()
    context.log.info(f"built bento {tag}")
    return dg.Output(tag, metadata={"bento_tag": tag, "bentoml_home": dg.MetadataValue.path(bentoml.bentoml_home)})


@dg.asset(key=["serving", "service"], ins={"bento_tag": dg.AssetIn(["serving", "bento"])},
          group_name="serving", kinds={"bentoml"})
def service(
    context: dg.AssetExecutionContext, bento_tag: str, bentoml: BentoResource, warehouse: WarehouseResource
) -> dg.MaterializeResult:
    """The champion served by `bentoml serve`: started, smoke-tested, then switched to; the old one stopped."""
    version = registry.alias_version(MODEL_NAME, registry.CHAMPION)
    if version is None:
        raise dg.Failure(f"{MODEL_NAME} has no champion alias: materialize models/champion first")
    smoke = request_for(warehouse.read_features(SMOKE_DAY, SMOKE_DAY).row(0, named=True))
    try:
        deployment, answer = bentoml.deploy(bento_tag, version, smoke)
    except DeploymentError as exc:
        raise dg.Failure(description=f"v{version} was not deployed; the previous version still serves: {exc}",
                         metadata={"bento_tag": bento_tag, "model_version": version}) from exc
    context.log.info(f"serving v{version} at {deployment.url}: smoke P(delay)={answer['probability']:.3f}")
    return dg.MaterializeResult(
        metadata={
            "endpoint": dg.MetadataValue.url(deployment.predict_url),
            "version_url": dg.MetadataValue.url(deployment.url),
            "bento_tag": bento_tag,
            "model_version": version,
            "pid": deployment.pid,
            "smoke_probability": answer["probability"],
            "log": dg.MetadataValue.path(deployment.log_path),
        }
    )
