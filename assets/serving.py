"""serving/*: the online features, the bento, the service on 127.0.0.1, Kubernetes manifests, batch scores,
champion vs challenger."""

from datetime import date
from pathlib import Path

import dagster as dg

from assets.keys import BENTO, CHAMPION, FEATURES, ONLINE_FEATURES, SERVICE
from ml_platform import online_snapshot
from ml_platform.serving import batch, comparison, k8s
from ml_platform.serving.deploy import SHADOW_DIR, DeploymentError, snapshot_path
from ml_platform.serving.scoring import ServedModel
from resources.registry import RegistryResource
from resources.serving import BentoResource
from resources.storage import LakeResource, WarehouseResource

LAST_DAY = date(2013, 12, 31)


class OnlineDayConfig(dg.Config):
    """The day whose scheduled flights the service answers (its aggregates use the days before it)."""

    day: str = LAST_DAY.isoformat()


@dg.asset(key=ONLINE_FEATURES, deps=[["staging", "flights"], ["staging", "weather"],
                                                    ["staging", "planes"]],
          group_name="serving", kinds={"duckdb"})
def online_features(context: dg.AssetExecutionContext, config: OnlineDayConfig, warehouse: WarehouseResource,
                    bentoml: BentoResource) -> dg.MaterializeResult:
    """Point-in-time lookup tables for one serving day, as a file the service loads (it never opens DuckDB)."""
    snapshot = warehouse.online_snapshot(date.fromisoformat(config.day))
    path = online_snapshot.write(snapshot, snapshot_path(Path(bentoml.state_dir)))
    table = "\n".join(["| table | keys | features | rows |", "|---|---|---|---|"]
                      + [f"| {t.name} | {', '.join(t.keys)} | {', '.join(t.features)} | {len(t.rows)} |"
                         for t in snapshot.tables])
    context.log.info(f"online features for {snapshot.day}: {sum(len(t.rows) for t in snapshot.tables)} keys")
    return dg.MaterializeResult(metadata={
        "path": dg.MetadataValue.path(str(path)),
        "day": snapshot.day.isoformat(),
        "tables": dg.MetadataValue.md(table),
        "bytes": path.stat().st_size,
        "example_request": dg.MetadataValue.json(snapshot.example),
    })


@dg.asset(key=BENTO, deps=[CHAMPION], group_name="serving", kinds={"bentoml"})
def bento(context: dg.AssetExecutionContext, bentoml: BentoResource) -> dg.Output[str]:
    """The service packaged with `bentoml build` (offline); the model is loaded from MLflow at start."""
    tag = bentoml.build()
    context.log.info(f"built bento {tag}")
    return dg.Output(tag, metadata={"bento_tag": tag, "bentoml_home": dg.MetadataValue.path(bentoml.bentoml_home)})


@dg.asset(key=SERVICE, ins={"bento_tag": dg.AssetIn(BENTO)}, deps=[ONLINE_FEATURES], group_name="serving",
          kinds={"bentoml"})
def service(context: dg.AssetExecutionContext, bento_tag: str, bentoml: BentoResource,
            registry: RegistryResource) -> dg.MaterializeResult:
    """The champion served by `bentoml serve` (the challenger in shadow): started, smoke-tested, switched to."""
    version = registry.champion_version()
    shadow = registry.challenger_version() or ""
    try:
        deployment, answer = bentoml.deploy(bento_tag, version, shadow)
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
            "shadow_version": deployment.shadow_version or "none",
            "pid": deployment.pid,
            "smoke_probability": answer["probability"],
            "log": dg.MetadataValue.path(deployment.log_path),
        }
    )


@dg.asset(key=["serving", "k8s_manifests"], ins={"bento_tag": dg.AssetIn(BENTO)}, deps=[ONLINE_FEATURES],
          group_name="serving", kinds={"kubernetes", "bentoml"})
def k8s_manifests(context: dg.AssetExecutionContext, bento_tag: str, bentoml: BentoResource,
                  registry: RegistryResource) -> dg.MaterializeResult:
    """Deployment, Service, HPA, PodDisruptionBudget and online-features ConfigMap for the bento, plus a canary."""
    champion = registry.champion_version()
    challenger = registry.challenger_version()
    canary = challenger if challenger != champion else None
    snapshot = snapshot_path(Path(bentoml.state_dir)).read_text()
    path, objects = k8s.write_manifests(Path(bentoml.state_dir) / "k8s", bento_tag, champion, snapshot, canary)
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

    start: str = LAST_DAY.isoformat()
    end: str = LAST_DAY.isoformat()


@dg.asset(key=["serving", "batch_predictions"], deps=[FEATURES, CHAMPION],
          group_name="serving", kinds={"polars", "lightgbm"})
def batch_predictions(
    context: dg.AssetExecutionContext,
    config: BatchWindowConfig,
    warehouse: WarehouseResource,
    lake_store: LakeResource,
    bentoml: BentoResource,
    registry: RegistryResource,
) -> dg.MaterializeResult:
    """P(delay) from the champion for every flight in a window of days, as Parquet in the lake."""
    version = registry.champion_version()
    start, end = date.fromisoformat(config.start), date.fromisoformat(config.end)
    model = _served(version, registry, bentoml)
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


def _served(version: str, registry: RegistryResource, bentoml: BentoResource) -> ServedModel:
    """A version for batch scoring here: every core, unlike a serving worker's one thread."""
    return ServedModel.load(registry.export(version, Path(bentoml.state_dir) / "models"), threads=None)


class ComparisonConfig(dg.Config):
    """Labelled days to compare on (default: the holdout quarter) and the test's significance level."""

    start: str = "2013-10-01"
    end: str = "2013-12-31"
    alpha: float = 0.05


# reads the `champion` and `challenger` aliases, which the gate (models/champion) sets, not the candidates' own
@dg.asset(key=["serving", "champion_vs_challenger"], deps=[FEATURES, CHAMPION], group_name="serving",
          kinds={"mlflow", "lightgbm"})
def champion_vs_challenger(
    context: dg.AssetExecutionContext, config: ComparisonConfig, warehouse: WarehouseResource, bentoml: BentoResource,
    registry: RegistryResource,
) -> dg.MaterializeResult:
    """Champion vs challenger log-loss on the same labelled flights (live shadow log first), day-level t-test."""
    champion = registry.champion_version(required=False)
    challenger = registry.challenger_version()
    if challenger is None:
        raise dg.Failure(f"{registry.model_name} has no challenger alias: materialize models/candidate, then "
                         "models/champion (the gate names the challenger) first")
    if champion is None:
        context.log.info(f"no champion yet: v{challenger} is the first model, nothing to compare with")
        return dg.MaterializeResult(metadata={"decision": "no champion yet: promote the first model",
                                              "challenger_version": challenger})
    frame = warehouse.read_features(date.fromisoformat(config.start), date.fromisoformat(config.end))
    source, result = comparison.compare_versions(_served(champion, registry, bentoml),
                                                 _served(challenger, registry, bentoml), frame,
                                                 Path(bentoml.state_dir) / SHADOW_DIR, config.alpha)
    context.log.info(f"v{challenger} vs champion v{champion}: {result.decision} (p={result.p_value:.3g})")
    return dg.MaterializeResult(
        metadata={
            "decision": result.decision,
            "source": source,
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
