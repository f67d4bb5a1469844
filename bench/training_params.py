"""What LightGBM's learning rate and early-stopping patience cost and buy, on the windows a year retrains on.

Training is about a sixth of the year's replay (18 retrains at weekly ticks; dbt is another sixth). A
faster setting shortens every retrain and also changes the models the gate compares: this measures both
sides, so the choice is made on numbers. Each window is one the retrain sensor used in the weekly replay
(its decision days, from `bench/results/replay-2013-7d/summary.json`), trained here on the features
`make demo` builds (no injected drift). Every setting fits every window in turn, so a slow minute
of the host hits them alike; fit seconds include scoring the holdout, as `training.fit_candidate` does.
"""

from __future__ import annotations

import argparse
import json
import statistics
import time
from datetime import date
from pathlib import Path

from bench.common import RESULTS, peak_rss_mib, write

SETTINGS = {f"lr_{lr}_patience_{patience}": {"learning_rate": lr, "early_stopping_rounds": patience}
            for lr in (0.05, 0.1) for patience in (50, 20)}  # name -> overrides of the spec's PARAMS


def shipped(params: dict) -> str:
    """The setting the spec ships with: what the others are compared to."""
    return next(name for name, overrides in SETTINGS.items() if all(params[k] == v for k, v in overrides.items()))


def retrain_days(summary: Path = RESULTS / "replay-2013-7d" / "summary.json") -> list[date]:
    """The days the weekly replay's retrain sensor asked for a model, the first one included."""
    events = json.loads(summary.read_text())["events"]
    return sorted({date.fromisoformat(e["day"]) for e in events if e["kind"] == "retrain"})


def sweep(days: list[date]) -> dict[str, list[dict]]:
    from ml_platform.retraining import RetrainPolicy
    from ml_platform.settings import get_settings
    from ml_platform.specs import SPECS
    from ml_platform.training import fit_candidate
    from ml_platform.warehouse import read_features

    policy, spec, first = RetrainPolicy(), SPECS["lightgbm"], date(2013, 1, 1)
    runs: dict[str, list[dict]] = {name: [] for name in SETTINGS}
    for day in days:
        window = policy.retrain_window(day, first)
        train, valid = window.split(read_features(get_settings().duckdb_path, window.train_start, window.valid_end))
        for name, overrides in SETTINGS.items():
            started = time.perf_counter()
            model = fit_candidate(spec, train, valid, overrides)
            fit_s = round(time.perf_counter() - started, 3)
            runs[name].append({"day": str(day), "train_rows": train.height, "fit_s": fit_s,
                               "best_iteration": int(model.metrics["best_iteration"]),
                               **{k: round(model.metrics[k], 4) for k in ("auc", "logloss", "ece")}})
        print(f"{day}: " + ", ".join(f"{n} {r[-1]['fit_s']:.1f}s AUC {r[-1]['auc']:.4f}" for n, r in runs.items()),
              flush=True)
    return runs


def summarize(runs: dict[str, list[dict]], baseline: str) -> dict[str, dict]:
    """Per setting: total fit seconds and its ratio to the baseline's, and the holdout metrics' change."""
    base = runs[baseline]
    fit_s = {name: sum(r["fit_s"] for r in rows) for name, rows in runs.items()}

    def deltas(rows: list[dict], key: str) -> dict[str, float]:
        diff = [r[key] - b[key] for r, b in zip(rows, base, strict=True)]
        return {"mean": round(statistics.fmean(diff), 4), "min": round(min(diff), 4), "max": round(max(diff), 4)}

    return {name: {"fit_s_total": round(fit_s[name], 1), "fit_s_ratio": round(fit_s[name] / fit_s[baseline], 3),
                   "median_best_iteration": statistics.median(r["best_iteration"] for r in rows),
                   **{f"{key}_change": deltas(rows, key) for key in ("auc", "logloss", "ece")}}
            for name, rows in runs.items()}


def main() -> None:
    argparse.ArgumentParser(description=__doc__).parse_args()
    from ml_platform.specs.lightgbm_spec import PARAMS

    baseline = shipped(PARAMS)
    runs = sweep(retrain_days())
    summary = summarize(runs, baseline)
    path = write("training_params", {"shipped": baseline, "spec_params": PARAMS, "settings": SETTINGS,
                                     "summary": summary, "peak_rss_mib": round(peak_rss_mib(), 1), "runs": runs})
    print(f"wrote {path}; compared with {baseline}, the spec's setting")
    for name, row in summary.items():
        print(f"{name:>24}: fit {row['fit_s_total']:6.1f} s ({row['fit_s_ratio']:.2f}x), "
              f"AUC {row['auc_change']['mean']:+.4f} (min {row['auc_change']['min']:+.4f})")


if __name__ == "__main__":
    main()
