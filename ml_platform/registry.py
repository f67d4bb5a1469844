"""MLflow tracking and registry: log candidates, move aliases, load a served model.

Registry stages are deprecated in MLflow; the platform uses aliases only (``challenger``,
``champion``).
"""

from __future__ import annotations

import contextlib
import functools
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date
from pathlib import Path
from typing import Any

import mlflow
import mlflow.artifacts
import mlflow.models
import numpy as np
import polars as pl
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from ml_platform import plots
from ml_platform.features import FeatureContract
from ml_platform.specs import SPECS, Predictor
from ml_platform.training import TrainedModel, TrainWindow

log = logging.getLogger(__name__)

CHALLENGER = "challenger"
CHAMPION = "champion"


def prepare_model_logging() -> threading.Thread | None:
    """Start, beside training, the one slow step of logging a model that does not need the model.

    Before it writes a model's requirements MLflow checks them against the environment, and for that maps
    every installed distribution to its modules (``importlib_metadata.packages_distributions()``, about
    1.3 s, once per process, and a Dagster run is a process), even when the requirements are given.
    MLflow has no public way to build that map ahead: this is the platform's one use of MLflow's private
    API (docs/upgrading.md; guarded by tests/unit/test_registry.py). A missing hook in another MLflow
    version only loses the head start. Returns the thread that builds the map, if one was started.
    """
    from mlflow.utils import requirements_utils

    build_map = getattr(requirements_utils, "_init_modules_to_packages_map", None)
    if build_map is None or getattr(requirements_utils, "_MODULES_TO_PACKAGES", None) is not None:
        return None
    thread = threading.Thread(target=build_map, name="mlflow-requirements-map", daemon=True)
    thread.start()
    return thread


def ensure_experiment(name: str, artifact_location: str) -> str:
    """Create the experiment with an explicit artifact root (else MLflow picks ./mlruns)."""
    experiment = mlflow.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    return mlflow.create_experiment(name, artifact_location=artifact_location)


@dataclass(frozen=True)
class CandidateRecord:
    run_id: str
    version: str
    model_uri: str


def candidate_alias(spec: str) -> str:
    """Each spec's newest registered candidate; the gate picks the challenger among them."""
    return f"candidate_{spec}"


def log_candidate(
    model: TrainedModel, window: TrainWindow, model_name: str, data_hash: str, code_version: str
) -> CandidateRecord:
    """Log params, metrics, plots, lineage and the model into the active run; register a new version."""
    run = mlflow.active_run() or mlflow.start_run()
    mlflow.log_params({k: str(v) for k, v in model.params.items()})
    mlflow.log_params({f"window.{k}": str(v) for k, v in window.__dict__.items()})
    mlflow.log_metrics({f"holdout_{k}": v for k, v in model.metrics.items()})
    mlflow.set_tags(
        {
            "model_spec": model.spec,
            "data.feature_range": f"{window.train_start}..{window.valid_end}",
            "data.feature_hash": data_hash,
            "data.train_rows": str(model.train_rows),
            "data.valid_rows": str(model.valid_rows),
            "code_version": code_version,
        }
    )
    title = f"{model.spec} holdout {window.valid_start}..{window.valid_end}"
    _log_png(plots.calibration(model.valid_labels, model.valid_predictions, title), "calibration.png")
    if model.feature_importance:
        _log_png(plots.importance(model.feature_importance, model.spec), "feature_importance.png")
        mlflow.log_dict(model.feature_importance, "feature_importance.json")
    metadata = {"model_spec": model.spec, "feature_contract": model.contract.to_dict(), "metrics": model.metrics}
    with tempfile.TemporaryDirectory() as tmp:
        SPECS[model.spec].save(model.predictor, Path(tmp) / "model", metadata)
        mlflow.log_artifacts(str(Path(tmp) / "model"), "model")
    registered = mlflow.register_model(f"runs:/{run.info.run_id}/model", model_name,
                                       tags={"model_spec": model.spec, "data.feature_hash": data_hash})
    version = str(registered.version)
    set_alias(model_name, candidate_alias(model.spec), version)
    log.info("registered %s v%s (%s, run %s)", model_name, version, model.spec, run.info.run_id)
    return CandidateRecord(run_id=run.info.run_id, version=version, model_uri=f"models:/{model_name}/{version}")


def _log_png(png: bytes, name: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / name
        path.write_bytes(png)
        mlflow.log_artifact(str(path), "plots")


def alias_version(model_name: str, alias: str) -> str | None:
    try:
        return str(MlflowClient().get_model_version_by_alias(model_name, alias).version)
    except MlflowException:
        return None


def set_alias(model_name: str, alias: str, version: str) -> None:
    MlflowClient().set_registered_model_alias(model_name, alias, version)


@dataclass
class LoadedModel:
    predictor: Predictor
    contract: FeatureContract
    version: str
    metadata: dict[str, Any]

    @property
    def spec(self) -> str:
        return self.metadata["model_spec"]

    def predict_frame(self, frame: pl.DataFrame) -> np.ndarray:
        return self.predictor.predict(self.contract.to_matrix(frame))


def load_model(model_name: str, alias: str = CHAMPION, version: str | None = None) -> LoadedModel:
    """Load a registered model of any spec plus the feature contract it was trained with."""
    version = version or alias_version(model_name, alias)
    if version is None:
        raise LookupError(f"registered model {model_name!r} has no {alias!r} alias: train and promote first")
    registered = MlflowClient().get_model_version(model_name, version)
    return _load_version(mlflow.get_registry_uri(), model_name, version, registered.creation_timestamp)


@functools.lru_cache(maxsize=4)
def _load_version(registry_uri: str, model_name: str, version: str, created: int) -> LoadedModel:
    """One registered version, loaded once per process (its creation time tells a re-created registry apart).

    A version's files never change, and a process that runs many steps (a replay, Dagster's in-process
    executor) scores with the same champion again and again. The download is removed once loaded.
    """
    with _downloaded(model_name, version) as local:
        metadata = mlflow.models.Model.load(local).metadata or {}
        predictor = SPECS[metadata["model_spec"]].load(local)
    return LoadedModel(predictor, FeatureContract.from_dict(metadata["feature_contract"]), version, metadata)


@contextlib.contextmanager
def _downloaded(model_name: str, version: str) -> Iterator[Path]:
    """A registered version's MLflow model directory, in a temporary folder removed afterwards."""
    with tempfile.TemporaryDirectory(prefix="ml-platform-model-") as folder:
        yield Path(mlflow.artifacts.download_artifacts(artifact_uri=f"models:/{model_name}/{version}",
                                                       dst_path=folder))


def version_run(model_name: str, version: str) -> tuple[TrainWindow, dict[str, float]]:
    """The window a registered version was trained on and the metrics it logged on its own holdout."""
    run = MlflowClient().get_run(MlflowClient().get_model_version(model_name, version).run_id)
    window = TrainWindow(*(date.fromisoformat(run.data.params[f"window.{k}"])
                           for k in ("train_start", "train_end", "valid_start", "valid_end")))
    metrics = {k.removeprefix("holdout_"): v for k, v in run.data.metrics.items() if k.startswith("holdout_")}
    return window, metrics


def export_model(model_name: str, version: str, dest: Path) -> Path:
    """Copy one version's MLflow model directory to ``dest/<version>`` with its contract beside it.

    Adds ``contract.json`` (the feature contract) and ``model.json`` (name, version, family), so the
    serving workers load the directory without MLflow (:mod:`ml_platform.serving.scoring`), which
    keeps their memory small and their start fast. An existing export is reused: versions are immutable.
    """
    target = Path(dest) / version
    if (target / "model.json").exists():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=target.parent, prefix=f".{version}-"))
    with _downloaded(model_name, version) as local:
        metadata = mlflow.models.Model.load(local).metadata or {}
        shutil.copytree(local, staging, dirs_exist_ok=True)
    (staging / "contract.json").write_text(json.dumps(metadata["feature_contract"]))
    info = {"name": model_name, "version": version, "spec": metadata["model_spec"]}
    (staging / "model.json").write_text(json.dumps(info))
    os.replace(staging, target)
    log.info("exported %s v%s to %s", model_name, version, target)
    return target
