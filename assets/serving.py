"""serving/*: the bento, the service on 127.0.0.1, Kubernetes manifests, batch scores, champion vs challenger."""

from datetime import date
from pathlib import Path

import dagster as dg

from ml_platform import registry
from ml_platform.features import request_for
from ml_platform.serving import batch, comparison, k8s
from ml_platform.serving.deploy import DeploymentError
from ml_platform.serving.scoring import ServedModel
from ml_platform.settings import MODEL_NAME
from resources.serving import BentoResource
from resources.storage import LakeResource, WarehouseResource

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
    newest = warehouse.latest_day()  # a flight of the newest built day is the smoke test
    smoke = request_for(warehouse.read_features(newest, newest).row(0, named=True))
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


@dg.asset(key=["serving", "k8s_manifests"], ins={"bento_tag": dg.AssetIn(["serving", "bento"])},
          group_name="serving", kinds={"kubernetes", "bentoml"})
def k8s_manifests(context: dg.AssetExecutionContext, bento_tag: str, bentoml: BentoResource) -> dg.MaterializeResult:
    """Deployment, Service, HPA and PodDisruptionBudget for the bento's image, plus a canary for the challenger."""
    champion = registry.alias_version(MODEL_NAME, registry.CHAMPION)
    if champion is None:
        raise dg.Failure(f"{MODEL_NAME} has no champion alias: materialize models/champion first")
    challenger = registry.alias_version(MODEL_NAME, registry.CHALLENGER)
    canary = challenger if challenger != champion else None
    path, objects = k8s.write_manifests(Path(bentoml.state_dir) / "k8s", bento_tag, champion, canary)
    context.log.info(f"wrote {len(objects)} manifests to {path}")
    table = "\n".join(["| kind | name |", "|---|---|"]
                      + [f"| {o['kind']} | {o['metadata']['name']} |" for o in objects])
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(path)),
            "objects": dg.MetadataValue.md(table),
            "image": k8s.image_for(bento_tag, k8s.K8sSettings().image_registry),
            "champion_version": champion,
            "canary_version": canary or "none",
        }
    )


class BatchWindowConfig(dg.Config):
    """The days to score (inclusive); the features table is not partitioned by day yet."""

    start: str = SMOKE_DAY.isoformat()
    end: str = SMOKE_DAY.isoformat()


@dg.asset(key=["serving", "batch_predictions"], deps=[["features", "flight_features"], ["models", "champion"]],
          group_name="serving", kinds={"polars", "lightgbm"})
def batch_predictions(
    context: dg.AssetExecutionContext,
    config: BatchWindowConfig,
    warehouse: WarehouseResource,
    lake_store: LakeResource,
    bentoml: BentoResource,
) -> dg.MaterializeResult:
    """P(delay) from the champion for every flight in a window of days, as Parquet in the lake."""
    version = registry.alias_version(MODEL_NAME, registry.CHAMPION)
    if version is None:
        raise dg.Failure(f"{MODEL_NAME} has no champion alias: materialize models/champion first")
    start, end = date.fromisoformat(config.start), date.fromisoformat(config.end)
    model = _served(version, bentoml)
    result = batch.score_to_lake(model, warehouse.read_features(start, end), lake_store.location, start, end)
    context.log.info(f"scored {result.rows} flights with v{version} at {result.rows_per_s:,.0f} rows/s")
    return dg.MaterializeResult(
        metadata={
            "path": dg.MetadataValue.path(str(result.path)),
            "dagster/row_count": result.rows,
            "rows_per_s": round(result.rows_per_s),
            "model_version": version,
            "window": f"{start}..{end}",
        }
    )


def _served(version: str, bentoml: BentoResource) -> ServedModel:
    return ServedModel.load(registry.export_model(MODEL_NAME, version, Path(bentoml.state_dir) / "models"))


class ComparisonConfig(dg.Config):
    """Labelled days to compare on (default: the holdout quarter) and the test's significance level."""

    start: str = "2013-10-01"
    end: str = "2013-12-31"
    alpha: float = 0.05


@dg.asset(key=["serving", "champion_vs_challenger"], deps=[["features", "flight_features"], ["models", "candidate"]],
          group_name="serving", kinds={"mlflow", "lightgbm"})
def champion_vs_challenger(
    context: dg.AssetExecutionContext, config: ComparisonConfig, warehouse: WarehouseResource, bentoml: BentoResource
) -> dg.MaterializeResult:
    """Champion vs challenger log-loss on the same labelled flights, with a day-level paired t-test."""
    champion = registry.alias_version(MODEL_NAME, registry.CHAMPION)
    challenger = registry.alias_version(MODEL_NAME, registry.CHALLENGER)
    if challenger is None:
        raise dg.Failure(f"{MODEL_NAME} has no challenger alias: materialize models/candidate first")
    if champion is None:
        context.log.info(f"no champion yet: v{challenger} is the first model, nothing to compare with")
        return dg.MaterializeResult(metadata={"decision": "no champion yet: promote the first model",
                                              "challenger_version": challenger})
    frame = warehouse.read_features(date.fromisoformat(config.start), date.fromisoformat(config.end))
    result = comparison.compare_models(_served(champion, bentoml), _served(challenger, bentoml), frame, config.alpha)
    context.log.info(f"v{challenger} vs champion v{champion}: {result.decision} (p={result.p_value:.3g})")
    return dg.MaterializeResult(
        metadata={
            "decision": result.decision,
            "champion_version": champion,
            "challenger_version": challenger,
            "logloss_difference": result.difference,
            "ci": f"[{result.ci_low:.5f}, {result.ci_high:.5f}] at {1 - result.alpha:.0%}",
            "p_value": result.p_value,
            "champion_logloss": result.champion_logloss,
            "challenger_logloss": result.challenger_logloss,
            "dagster/row_count": result.rows,
            "days": result.days,
        }
    )
