"""Training: platform candidate build vs bare LightGBM on the same data, and each spec's holdout AUC.

The platform case reads features from DuckDB, fits with early stopping, logs params, metrics, plots
and the model to MLflow and registers it; the baseline is `lgb.train` with the same parameters on
the same matrix. Each case runs in its own process so wall time and peak memory are its own.
Needs the features built (`make demo`, or `ml-platform materialize --select 'group:raw or
group:staging or group:features'`).
"""

from __future__ import annotations

import argparse
import tempfile
import time

from bench.common import emit, run_case, write


def _features():
    from ml_platform.settings import get_settings
    from ml_platform.warehouse import read_features

    return read_features(get_settings().duckdb_path)


def bare_lightgbm() -> dict:
    import lightgbm as lgb

    from ml_platform.features import FeatureContract, labels
    from ml_platform.specs.lightgbm_spec import PARAMS
    from ml_platform.training import TrainWindow, early_stopping_split

    frame = _features()
    started = time.perf_counter()
    train, valid = TrainWindow().split(frame)
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


def platform_candidate(spec: str) -> dict:
    import mlflow

    from ml_platform import candidates, registry, warehouse
    from ml_platform.settings import get_settings
    from ml_platform.training import TrainWindow

    settings = get_settings()
    started = time.perf_counter()
    frame = warehouse.read_features(settings.duckdb_path)
    with tempfile.TemporaryDirectory() as tmp:
        mlflow.set_tracking_uri(f"sqlite:///{tmp}/mlflow.db")
        registry.ensure_experiment("bench", f"file://{tmp}/artifacts")
        mlflow.set_experiment("bench")
        built = candidates.build_candidate(frame, TrainWindow(), spec, "bench_model")
        mlflow.end_run()
    metrics = built.model.metrics
    return {"wall_s": round(time.perf_counter() - started, 3), "holdout_auc": round(metrics["auc"], 4),
            "holdout_logloss": round(metrics["logloss"], 4), "holdout_ece": round(metrics["ece"], 4),
            **{k: metrics[k] for k in ("best_iteration", "epochs", "samples_per_s", "cuda") if k in metrics}}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--case", choices=["bare_lightgbm", "lightgbm", "torch_mlp"])
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    if args.case == "bare_lightgbm":
        emit(bare_lightgbm())
        return
    if args.case:
        emit(platform_candidate(args.case))
        return
    runs = {case: [run_case("bench.training", case) for _ in range(args.repeats)]
            for case in ("bare_lightgbm", "lightgbm", "torch_mlp")}

    def median(case: str, key: str) -> float:
        values = sorted(r[key] for r in runs[case])
        return values[len(values) // 2]

    summary = {
        "platform_vs_bare_lightgbm_wall_ratio": round(median("lightgbm", "wall_s") / median("bare_lightgbm", "wall_s"), 3),
        "holdout_auc": {spec: runs[spec][0]["holdout_auc"] for spec in ("lightgbm", "torch_mlp")},
        "torch_cpu_samples_per_s": median("torch_mlp", "samples_per_s"),
        "peak_rss_mib": {case: max(r["peak_rss_mib"] for r in rs) for case, rs in runs.items()},
    }
    path = write("training", {"summary": summary, "runs": runs})
    print(f"wrote {path}: {summary}")


if __name__ == "__main__":
    main()
