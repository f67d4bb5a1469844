"""Deploy benchmark -> ``bench/results/deploy.json``: failed requests during blue/green, rollback time.

Builds the bento and deploys the champion; rolls back to the previous registered version (the
champion itself if there is none), first with no load, then with a steady load through the router,
each time twice: cold (no warm standby of that version: a new ``bentoml serve`` is started, exactly
:func:`ml_platform.serving.deploy.redeploy`'s path without one) and warm (``redeploy`` finds the
replaced version still running as the standby and switches to it). Records the seconds from the call
until the router serves the new generation, and every failed request during the switches.
Needs a trained champion in ``ML_PLATFORM_HOME`` (``make demo``); stops everything it starts.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import shutil
import tempfile
import threading
import time
from urllib.parse import urlsplit

import uvloop

from bench.loadgen import run_load
from ml_platform import registry, warehouse
from ml_platform.serving import deploy
from ml_platform.serving.online import OnlineFeatures, scheduled_request
from ml_platform.settings import MODEL_NAME, PROJECT_ROOT, get_settings

log = logging.getLogger("bench.deploy")
RESULTS = PROJECT_ROOT / "bench" / "results" / "deploy.json"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--connections", type=int, default=8)
    args = parser.parse_args()
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    logging.getLogger("httpx").setLevel(logging.WARNING)
    settings = get_settings()
    settings.export_env()
    env = settings.subprocess_env()
    champion = registry.alias_version(MODEL_NAME, registry.CHAMPION)
    if champion is None:
        raise SystemExit("no champion in ML_PLATFORM_HOME: run `make demo` first")
    previous = str(int(champion) - 1) if int(champion) > 1 else champion
    load_before = os.getloadavg()
    state = settings.home / "bench-deploy"
    state.mkdir(parents=True, exist_ok=True)
    shutil.copy(deploy.snapshot_path(settings.serving_dir), deploy.snapshot_path(state))
    online = OnlineFeatures.load(deploy.snapshot_path(state))
    rows = warehouse.read_schedule(settings.duckdb_path, online.day, online.day).head(100)
    bodies = [json.dumps({"flight": scheduled_request(r, online)}).encode() for r in rows.iter_rows(named=True)]
    tag = deploy.build_bento(PROJECT_ROOT, env)  # into the home's store, unless the same content is there
    with tempfile.TemporaryDirectory() as empty_store:  # a cold `bentoml build`, into a store of its own
        started = time.perf_counter()
        deploy.build_bento(PROJECT_ROOT, {**env, "BENTOML_HOME": empty_store})
        build_s = time.perf_counter() - started
    started = time.perf_counter()
    deploy.build_bento(PROJECT_ROOT, env)  # what a promotion with unchanged code pays: the stored bento
    reuse_s = time.perf_counter() - started
    switches = []

    def switch(label: str, cold: bool) -> None:
        called = time.time()
        if cold:  # redeploy's path when the version has no warm standby
            deployment, _ = deploy.deploy(tag, previous, state, env, standby_s=deploy.STANDBY_S)
        else:
            deployment = deploy.redeploy(previous, state, env)
        switches.append({"kind": label, "model_version": previous, "warm_standby_reused": not cold,
                         "seconds_to_serve": round(deployment.started_at - called, 2),
                         "seconds_until_returned": round(time.time() - called, 2)})
        log.info("%s", switches[-1])

    try:
        first, _ = deploy.deploy(tag, champion, state, env)
        switch("rollback_cold_idle", cold=True)
        switch("rollback_warm_idle", cold=False)
        stop, outcome = threading.Event(), {}
        load = threading.Thread(target=lambda: outcome.update(result=uvloop.run(run_load(
            urlsplit(first.endpoint).port, "/predict", bodies, connections=args.connections, duration_s=600,
            until=stop))))
        load.start()
        try:
            time.sleep(2)
            switch("rollback_cold_under_load", cold=True)
            time.sleep(2)
            switch("rollback_warm_under_load", cold=False)
            time.sleep(2)
        finally:
            stop.set()
            load.join()
    finally:
        deploy.stop(state)
    result = outcome["result"].summary()
    report = {"machine": {"cpus": os.cpu_count(), "loadavg_before": load_before, "loadavg_after": os.getloadavg(),
                          "note": "shared machine; the load runs on the same cores as the new version's start"},
              "bento_build_s": round(build_s, 1), "bento_reuse_s": round(reuse_s, 3), "switches": switches,
              "load_during_switches": result, "failed_requests": result["errors"]}
    RESULTS.parent.mkdir(parents=True, exist_ok=True)
    RESULTS.write_text(json.dumps(report, indent=2))
    log.info("wrote %s: %s failed of %s", RESULTS, result["errors"], result["requests"])


if __name__ == "__main__":
    main()
