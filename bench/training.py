"""Training: the platform's candidate vs bare LightGBM on the same data, and each spec's holdout AUC.

Three ways to train the same LightGBM on the same window (Jan-Sep 2013, holdout Oct-Dec) of the same
DuckDB features, each in its own process so wall time and peak memory are its own, interleaved so
drifting machine load hits them alike:

- ``bare_lightgbm``: read the features, split, `lgb.train` with the spec's parameters and early
  stopping, predict the holdout. What a script would do.
- ``lightgbm_engine``: read the features and call `candidates.build_candidate` (the engine function
  the asset calls): contract, fit, holdout metrics, two PNG plots, MLflow params/metrics/artifacts,
  model logged and registered.
- ``lightgbm``: `models/candidate[lightgbm]` materialized through Dagster (run, resources, step,
  events), with MLflow and the registry history in a temp folder.

``torch_mlp`` goes through Dagster as well. Needs the features built (`make demo`).
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time

from bench.common import emit, run_case, write

CASES = ("bare_lightgbm", "lightgbm_engine", "lightgbm", "torch_mlp")


def bare_lightgbm() -> dict:
    import lightgbm as lgb

    from ml_platform.features import FeatureContract, labels
    from ml_platform.settings import get_settings
    from ml_platform.specs.lightgbm_spec import PARAMS
    from ml_platform.training import TrainWindow, early_stopping_split
    from ml_platform.warehouse import read_features

    started = time.perf_counter()
    window = TrainWindow()
    frame = read_features(get_settings().duckdb_path, window.train_start, window.valid_end)
    train, valid = window.split(frame)
    contract = FeatureContract().fit(train)
    fit_part, stop_part = early_stopping_split(train)
    params = dict(PARAMS)
    rounds, patience = params.pop("max_rounds"), params.pop("early_stopping_rounds")
    categorical = [contract.names.index(c) for c in contract.categorical]
    fit_set = lgb.Dataset(contract.to_matrix(fit_part), labels(fit_part), categorical_feature=categorical)
    booster = lgb.train({**params, "seed": 13, "deterministic": True, "verbose": -1}, fit_set,
                        num_boost_round=rounds,
                        valid_sets=[lgb.Dataset(contract.to_matrix(stop_part), labels(stop_part), reference=fit_set)],
                        callbacks=[lgb.early_stopping(patience, verbose=False)])
    booster.predict(contract.to_matrix(valid))
    return {"wall_s": round(time.perf_counter() - started, 3), "best_iteration": booster.best_iteration}


def _metrics(metrics: dict) -> dict:
    return {"holdout_auc": round(metrics["auc"], 4), "holdout_logloss": round(metrics["logloss"], 4),
            "holdout_ece": round(metrics["ece"], 4),
            **{k: metrics[k] for k in ("best_iteration", "epochs", "samples_per_s", "cuda") if k in metrics}}


def lightgbm_engine() -> dict:
    import mlflow

    from ml_platform import candidates, registry, warehouse
    from ml_platform.settings import get_settings
    from ml_platform.training import TrainWindow

    with tempfile.TemporaryDirectory() as tmp:
        mlflow.set_tracking_uri(f"sqlite:///{tmp}/mlflow.db")
        registry.ensure_experiment("bench", f"file://{tmp}/artifacts")
        mlflow.set_experiment("bench")
        started = time.perf_counter()
        window = TrainWindow()
        frame = warehouse.read_features(get_settings().duckdb_path, window.train_start, window.valid_end)
        built = candidates.build_candidate(frame, window, "lightgbm", "bench_model")
        wall = time.perf_counter() - started
        mlflow.end_run()
    return {"wall_s": round(wall, 3), **_metrics(built.model.metrics)}


def dagster_candidate(spec: str) -> dict:
    """The asset as the platform runs it: an in-process Dagster run of models/candidate[spec]."""
    import dagster as dg
    import mlflow

    from ml_platform import registry
    from orchestration.definitions import resources
    from resources.mlflow import mlflow_tracking_resource
    from resources.registry import RegistryResource

    with tempfile.TemporaryDirectory() as tmp:
        from assets.models import CANDIDATE, candidate

        overrides = {
            "mlflow": mlflow_tracking_resource.configured({
                "experiment_name": "bench", "mlflow_tracking_uri": f"sqlite:///{tmp}/mlflow.db",
                "artifact_location": f"file://{tmp}/artifacts"}),
            "registry": RegistryResource(model_name="bench_model", history_path=f"{tmp}/promotions.jsonl"),
        }
        mlflow.set_tracking_uri(f"sqlite:///{tmp}/mlflow.db")  # a store that exists, as it does in use:
        registry.ensure_experiment("bench", f"file://{tmp}/artifacts")  # its schema migration is not timed
        started = time.perf_counter()
        result = dg.materialize([candidate], selection=[CANDIDATE], partition_key=spec,
                                resources={**resources, **overrides}, instance=dg.DagsterInstance.ephemeral())
        wall = time.perf_counter() - started
        run_id = result.asset_materializations_for_node(candidate.op.name)[0].metadata["mlflow_run_id"].value
        logged = mlflow.MlflowClient(f"sqlite:///{tmp}/mlflow.db").get_run(run_id).data.metrics
    return {"wall_s": round(wall, 3), **_metrics({k.removeprefix("holdout_"): v for k, v in logged.items()})}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--case", choices=CASES)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    if args.case:
        emit(bare_lightgbm() if args.case == "bare_lightgbm" else lightgbm_engine()
             if args.case == "lightgbm_engine" else dagster_candidate(args.case))
        return
    runs: dict[str, list] = {case: [] for case in CASES}
    load = {"before": os.getloadavg()}
    for _ in range(args.repeats):  # interleaved: a slow minute hits every case once
        for case in CASES:
            runs[case].append(run_case("bench.training", case))
    load["after"] = os.getloadavg()

    def median(case: str, key: str = "wall_s") -> float:
        return statistics.median(r[key] for r in runs[case])

    bare = median("bare_lightgbm")
    summary = {
        "platform_vs_bare_lightgbm_wall_ratio": {
            "dagster_step": round(median("lightgbm") / bare, 3),
            "engine": round(median("lightgbm_engine") / bare, 3),
            "dagster_step_best_of": round(min(r["wall_s"] for r in runs["lightgbm"])
                                          / min(r["wall_s"] for r in runs["bare_lightgbm"]), 3),
        },
        "median_wall_s": {case: round(median(case), 3) for case in CASES},
        "holdout_auc": {spec: runs[spec][0]["holdout_auc"] for spec in ("lightgbm", "torch_mlp")},
        "torch_cpu_samples_per_s": round(median("torch_mlp", "samples_per_s")),
        "peak_rss_mib": {case: max(r["peak_rss_mib"] for r in rs) for case, rs in runs.items()},
        "load_average": load,
    }
    path = write("training", {"summary": summary, "runs": runs})
    print(f"wrote {path}: {summary}")


if __name__ == "__main__":
    main()
