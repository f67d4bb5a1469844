"""Load benchmark of the serving layer -> ``bench/results/serving.json``.

In one run, on 127.0.0.1 with the same closed-loop load generator (:mod:`bench.loadgen`):

* ``bare_asgi``: the platform's Starlette endpoints under plain uvicorn (same model call, no BentoML);
* ``bentoml_default``: the same model call as a sync ``@bentoml.api`` in BentoML's default config
  (full-feature requests: it has no online lookup);
* ``service``: the platform's ``FlightDelay`` service (``bentoml serve``), schedule-time requests joined
  with the online snapshot (``/predict``);
* ``service_features_endpoint``: the same service given every feature (``/predict_features``), which
  shows what the lookup costs;
* ``service_via_router``: the service through the local router that blue/green switches;

then batch scoring (``serving/batch_predictions``' engine) against bare ``booster.predict``, the batch
endpoint's rows/s against bare ``booster.predict`` on the same rows, a paced soak of
the service (errors and memory growth; ``--soak-seconds``, short by default, the issue's 10 minutes
is ``--soak-seconds 600``), and the peak RSS of every serving process.

Needs a trained champion in ``ML_PLATFORM_HOME`` (``make demo``). Every server it starts is stopped.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import signal
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import httpx
import psutil
import uvloop

from bench import wrk
from bench.loadgen import run_load
from ml_platform import registry, warehouse
from ml_platform.features import request_for
from ml_platform.serving import batch
from ml_platform.serving.app import MODEL_DIR_ENV, ONLINE_FEATURES_ENV
from ml_platform.serving.deploy import free_port, snapshot_path
from ml_platform.serving.online import OnlineFeatures, scheduled_request
from ml_platform.serving.scoring import ServedModel
from ml_platform.settings import MODEL_NAME, PROJECT_ROOT, get_settings

log = logging.getLogger("bench.serving")
BIN = Path(sys.executable).parent
RESULTS = PROJECT_ROOT / "bench" / "results" / "serving.json"
DAY = date(2013, 12, 31)


class RssSampler:
    """Peak RSS of a process tree, sampled every ``interval_s`` in a thread."""

    def __init__(self, pid: int, interval_s: float = 0.25) -> None:
        self.root = psutil.Process(pid)
        self.interval_s = interval_s
        self.peak_process = 0
        self.peak_total = 0
        self.last_total = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def sample(self) -> int:
        try:
            processes = [self.root, *self.root.children(recursive=True)]
        except psutil.NoSuchProcess:
            return self.last_total
        sizes = []
        for process in processes:
            try:
                sizes.append(process.memory_info().rss)
            except psutil.NoSuchProcess:
                continue
        self.peak_process = max(self.peak_process, *sizes, 0)
        self.last_total = sum(sizes)
        self.peak_total = max(self.peak_total, self.last_total)
        return self.last_total

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            self.sample()

    def __enter__(self) -> RssSampler:
        self.sample()
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._stop.set()
        self._thread.join()

    def summary(self) -> dict[str, float]:
        mib = 1024 * 1024
        return {"peak_process_rss_mib": round(self.peak_process / mib, 1),
                "peak_total_rss_mib": round(self.peak_total / mib, 1)}


@contextmanager
def server(args: list[str], env: dict[str, str], port: int, probe: bytes, path: str = "/predict"):
    """Start a server in its own session, wait until ``probe`` gets a 200, stop the session after."""
    log_path = get_settings().home / "logs" / f"bench-{port}.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "wb") as log_file:
        process = subprocess.Popen(args, env={**os.environ, **env}, cwd=PROJECT_ROOT, stdout=log_file,
                                   stderr=subprocess.STDOUT, start_new_session=True)
    try:
        deadline = time.monotonic() + 120
        while True:
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"{args[0]} did not come up; see {log_path}")
            try:
                if httpx.post(f"http://127.0.0.1:{port}{path}", content=probe, timeout=2,
                              headers={"content-type": "application/json"}).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        yield process
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


def measure(port: int, path: str, bodies: list[bytes], pid: int, seconds: float, connections: int,
            rate: float | None = None, load: str = "python") -> dict[str, object]:
    """Closed-loop load (``wrk`` or the Python generator), or the Python generator paced to ``rate``."""
    uvloop.run(run_load(port, path, bodies, connections=connections, duration_s=min(2.0, seconds)))  # warm-up
    with RssSampler(pid) as rss:
        start_rss = rss.sample()
        if load == "wrk" and rate is None:
            result = wrk.run_wrk(port, path, bodies, connections=connections, duration_s=seconds)
        else:
            result = uvloop.run(run_load(port, path, bodies, connections=connections, duration_s=seconds,
                                         rate_per_s=rate)).summary()
        end_rss = rss.sample()
    summary = {**result, **rss.summary()}
    summary["rss_growth_mib"] = round((end_rss - start_rss) / 1024 / 1024, 1)
    log.info("%s:%s %s", port, path, summary)
    return summary


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=15.0, help="measured seconds per configuration")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 1,
                        help="uvicorn workers of the bare app (the service uses one per CPU)")
    parser.add_argument("--soak-seconds", type=float, default=30.0)
    parser.add_argument("--soak-rate", type=float, default=1000.0)
    parser.add_argument("--batch-rows", type=int, default=1000)
    parser.add_argument("--load", choices=["wrk", "python"], default="wrk" if wrk.available() else "python",
                        help="closed-loop load generator (wrk when installed: `make bench-tools`); "
                             "the paced soak always uses the Python one")
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)

    settings = get_settings()
    settings.export_env()
    version = registry.alias_version(MODEL_NAME, registry.CHAMPION)
    if version is None:
        raise SystemExit("no champion in ML_PLATFORM_HOME: run `make demo` first")
    model_dir = registry.export_model(MODEL_NAME, version, settings.serving_dir / "models")
    model = ServedModel.load(model_dir)
    frame = warehouse.read_features(settings.duckdb_path, DAY, DAY)
    online = OnlineFeatures.load(snapshot_path(settings.serving_dir))
    flights = [scheduled_request(r, online) for r in warehouse.read_schedule(settings.duckdb_path, online.day,
                                                                             online.day).iter_rows(named=True)]
    bodies = [json.dumps({"flight": f}).encode() for f in flights[:200]]
    feature_bodies = [json.dumps({"flight": request_for(r)}).encode() for r in frame.head(200).iter_rows(named=True)]
    env = {**settings.subprocess_env(), MODEL_DIR_ENV: str(model_dir),
           ONLINE_FEATURES_ENV: str(snapshot_path(settings.serving_dir))}
    load_before = os.getloadavg()
    results: dict[str, object] = {"batch_scoring": _batch_scoring(ServedModel.load(model_dir, threads=None),
                                                                  settings)}

    port = free_port()
    with server([str(BIN / "uvicorn"), "ml_platform.serving.app:bare_app", "--factory", "--host", "127.0.0.1",
                 "--port", str(port), "--workers", str(args.workers), "--no-access-log", "--log-level", "warning"],
                env, port, bodies[0]) as process:
        results["bare_asgi"] = measure(port, "/predict", bodies, process.pid, args.seconds, args.connections,
                                       load=args.load)

    port = free_port()
    with server([str(BIN / "bentoml"), "serve", "bench.bentoml_default:FlightDelayDefault", "--host",
                 "127.0.0.1", "--port", str(port)], env, port, feature_bodies[0]) as process:
        results["bentoml_default"] = measure(port, "/predict", feature_bodies, process.pid, args.seconds,
                                             args.connections, load=args.load)

    port = free_port()
    with server([str(BIN / "bentoml"), "serve", "ml_platform.serving.service:FlightDelay", "--host", "127.0.0.1",
                 "--port", str(port)], env, port, bodies[0]) as process:
        results["service"] = measure(port, "/predict", bodies, process.pid, args.seconds, args.connections,
                                     load=args.load)
        results["service_features_endpoint"] = measure(port, "/predict_features", feature_bodies, process.pid,
                                                       args.seconds, args.connections, load=args.load)
        results["service_via_router"] = _via_router(port, bodies, process.pid, args)
        batch = [json.dumps({"flights": flights[:args.batch_rows]}).encode()]
        batch_run = measure(port, "/predict_batch", batch, process.pid, args.seconds, 2, load=args.load)
        rows = len(flights[:args.batch_rows])
        matrix = model.contract.to_matrix(frame.head(rows))
        started = time.perf_counter()
        repeats = 20
        for _ in range(repeats):
            model.predictor.booster.predict(matrix)
        bare_rows_per_s = repeats * rows / (time.perf_counter() - started)
        results["batch_endpoint"] = {**batch_run, "rows_per_request": rows,
                                     "rows_per_s": round(batch_run["rps"] * rows, 1),
                                     "bare_booster_rows_per_s": round(bare_rows_per_s, 1)}
        results["soak"] = {"rate_per_s": args.soak_rate,
                           **measure(port, "/predict", bodies, process.pid, args.soak_seconds,
                                     args.connections, rate=args.soak_rate)}

    ours, bare, default = (results[k]["rps"] for k in ("service", "bare_asgi", "bentoml_default"))
    report = {
        "machine": {"cpus": os.cpu_count(), "processor": platform.processor() or platform.machine(),
                    "python": platform.python_version(), "loadavg_before": load_before,
                    "loadavg_after": os.getloadavg(),
                    "note": "shared machine: other work competes for the same cores; compare ratios, "
                            "measured back to back in this run"},
        "settings": vars(args),
        "model_version": version,
        "results": results,
        "ratios": {"service_vs_bare_asgi": round(ours / bare, 3),
                   "service_vs_bentoml_default": round(ours / default, 2),
                   "batch_endpoint_vs_bare_booster": round(results["batch_endpoint"]["rows_per_s"]
                                                           / results["batch_endpoint"]["bare_booster_rows_per_s"], 3),
                   "batch_scoring_vs_bare_booster": results["batch_scoring"]["engine_vs_bare"]},
        "p99_ms_service": results["service"]["p99_ms"],
        "model_single_row_ms": round(_single_row_ms(model, frame), 3),
    }
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    tmp = RESULTS.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(report, indent=2))
    tmp.replace(RESULTS)
    log.info("wrote %s: %s", RESULTS, report["ratios"])


def _via_router(service_port: int, bodies: list[bytes], service_pid: int, args: argparse.Namespace) -> dict:
    """The service behind the router, which reads the service's URL from a deployment record."""
    state = get_settings().home / "bench-router"
    state.mkdir(parents=True, exist_ok=True)
    (state / "deployment.json").write_text(json.dumps({"url": f"http://127.0.0.1:{service_port}"}))
    port = free_port()
    with server([sys.executable, "-m", "ml_platform.serving.router", "--port", str(port), "--state-dir", str(state)],
                {}, port, bodies[0]) as router:
        summary = measure(port, "/predict", bodies, service_pid, args.seconds, args.connections, load=args.load)
        summary["router_rss_mib"] = round(psutil.Process(router.pid).memory_info().rss / 1024 / 1024, 1)
    return summary


def _batch_scoring(model: ServedModel, settings) -> dict[str, float]:
    """``serving/batch_predictions``' engine on December's features vs bare predict on a ready matrix."""
    frame = warehouse.read_features(settings.duckdb_path, date(2013, 12, 1), DAY)
    matrix = model.contract.to_matrix(frame)
    timings: dict[str, list[float]] = {"bare": [], "engine": [], "engine_with_read": []}
    for _ in range(5):  # interleaved, best of 5: the machine is shared
        started = time.perf_counter()
        model.predictor.booster.predict(matrix)
        timings["bare"].append(time.perf_counter() - started)
        started = time.perf_counter()
        batch.score_frame(model, frame)
        timings["engine"].append(time.perf_counter() - started)
        started = time.perf_counter()
        batch.score_frame(model, warehouse.read_features(settings.duckdb_path, date(2013, 12, 1), DAY))
        timings["engine_with_read"].append(time.perf_counter() - started)
    best = {name: min(values) for name, values in timings.items()}
    summary = {"rows": frame.height, **{f"{name}_rows_per_s": round(frame.height / t) for name, t in best.items()}}
    summary["engine_vs_bare"] = round(best["bare"] / best["engine"], 3)
    summary["engine_with_read_vs_bare"] = round(best["bare"] / best["engine_with_read"], 3)
    log.info("batch scoring %s", summary)
    return summary


def _single_row_ms(model: ServedModel, frame) -> float:
    row = model.contract.to_matrix(frame.head(1))
    started = time.perf_counter()
    for _ in range(200):
        model.predict(row)
    return (time.perf_counter() - started) / 200 * 1000


if __name__ == "__main__":
    main()
