"""A tabular MLP in torch: embeddings for categoricals, standardized numerics with missing flags.

Uses CUDA with bf16 autocast when torch sees a GPU, the CPU otherwise; seeded and reproducible on a
given device. Saved as a ``state_dict`` (plus its architecture in the MLmodel file) and loaded with
``weights_only=True``: nothing is unpickled.
"""

from __future__ import annotations

import json
import logging
import time
from contextlib import nullcontext
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import polars as pl
import torch
import yaml
from torch import nn

from ml_platform.features import FeatureContract, labels
from ml_platform.specs.base import FitResult, ModelSpec

log = logging.getLogger(__name__)

FLAVOR = "ml_platform_torch"
WEIGHTS = "model.pt"
UNCLAMPED_BEFORE = {"low", "high"}  # buffers newer than the first saved models

PARAMS: dict[str, Any] = {
    "hidden": [128, 64],
    "embedding_dim": 8,
    "dropout": 0.1,
    "learning_rate": 2e-3,
    "weight_decay": 1e-4,
    "batch_size": 1024,
    "max_epochs": 8,
    "patience": 2,
}

# What the torch candidate's training step asks of Kubernetes (see deploy/ and sensors/k8s.py).
K8S_CONFIG: dict[str, Any] = {
    "container_config": {
        "resources": {
            "requests": {"cpu": "4", "memory": "8Gi", "nvidia.com/gpu": "1"},
            "limits": {"memory": "16Gi", "nvidia.com/gpu": "1"},
        }
    },
    "pod_spec_config": {
        "node_selector": {"ml-platform/pool": "gpu"},
        "tolerations": [{"key": "nvidia.com/gpu", "operator": "Exists", "effect": "NoSchedule"}],
    },
}


class TabularMLP(nn.Module):
    def __init__(self, cardinalities: list[int], categorical_idx: list[int], numeric_idx: list[int],
                 embedding_dim: int, hidden: list[int], dropout: float) -> None:
        super().__init__()
        self.categorical_idx = categorical_idx
        self.numeric_idx = numeric_idx
        # index 0 of each table is "unknown or missing"
        self.embeddings = nn.ModuleList(nn.Embedding(card + 1, embedding_dim) for card in cardinalities)
        self.register_buffer("mean", torch.zeros(len(numeric_idx)))
        self.register_buffer("std", torch.ones(len(numeric_idx)))
        # the training range: a network extrapolates linearly past it (a window of Jan-Sep meets month 10-12
        # at the holdout), where trees stay flat; clamping does what the trees do
        self.register_buffer("low", torch.full((len(numeric_idx),), -torch.inf))
        self.register_buffer("high", torch.full((len(numeric_idx),), torch.inf))
        width = embedding_dim * len(cardinalities) + 2 * len(numeric_idx)
        layers: list[nn.Module] = []
        for size in hidden:
            layers += [nn.Linear(width, size), nn.ReLU(), nn.Dropout(dropout)]
            width = size
        layers.append(nn.Linear(width, 1))
        self.mlp = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        cat = x[:, self.categorical_idx]
        codes = torch.where(torch.isnan(cat), torch.zeros_like(cat), cat + 1).long()
        num = x[:, self.numeric_idx]
        missing = torch.isnan(num)
        num = torch.where(missing, torch.zeros_like(num), (num.clamp(self.low, self.high) - self.mean) / self.std)
        parts = [emb(codes[:, i]) for i, emb in enumerate(self.embeddings)]
        return self.mlp(torch.cat([*parts, num, missing.float()], dim=1)).squeeze(1)


@dataclass
class TorchPredictor:
    module: TabularMLP
    architecture: dict[str, Any]
    device: str = "cpu"

    @torch.no_grad()
    def predict(self, matrix: np.ndarray, batch_size: int = 65536) -> np.ndarray:
        self.module.eval()
        out = []
        for start in range(0, len(matrix), batch_size):
            x = torch.from_numpy(np.ascontiguousarray(matrix[start:start + batch_size])).to(self.device)
            out.append(torch.sigmoid(self.module(x).float()).cpu().numpy())
        return np.concatenate(out).astype(np.float64) if out else np.empty(0)


def device() -> str:
    return "cuda" if torch.cuda.is_available() else "cpu"


def fit(
    contract: FeatureContract, fit_part: pl.DataFrame, stop_part: pl.DataFrame, params: dict[str, Any], seed: int
) -> FitResult:
    torch.manual_seed(seed)
    dev = device()
    x_fit, y_fit = contract.to_matrix(fit_part), labels(fit_part).astype(np.float32)
    x_stop, y_stop = contract.to_matrix(stop_part), labels(stop_part).astype(np.float32)
    categorical_idx = [contract.names.index(c) for c in contract.categorical]
    numeric_idx = [i for i in range(len(contract.names)) if i not in categorical_idx]
    architecture = {
        "cardinalities": [len(contract.vocabulary[c]) for c in contract.categorical],
        "categorical_idx": categorical_idx,
        "numeric_idx": numeric_idx,
        "embedding_dim": int(params["embedding_dim"]),
        "hidden": list(params["hidden"]),
        "dropout": float(params["dropout"]),
    }
    module = TabularMLP(**architecture)
    numeric = x_fit[:, numeric_idx]
    module.mean.copy_(torch.from_numpy(np.nan_to_num(np.nanmean(numeric, axis=0))))
    module.std.copy_(torch.from_numpy(np.nan_to_num(np.nanstd(numeric, axis=0), nan=1.0).clip(1e-6)))
    module.low.copy_(torch.from_numpy(np.nan_to_num(np.nanmin(numeric, axis=0), nan=-np.inf)))
    module.high.copy_(torch.from_numpy(np.nan_to_num(np.nanmax(numeric, axis=0), nan=np.inf)))
    module.to(dev)

    optimizer = torch.optim.AdamW(module.parameters(), lr=params["learning_rate"],
                                  weight_decay=params["weight_decay"])
    loss_fn = nn.BCEWithLogitsLoss()
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if dev == "cuda" else nullcontext()
    x_all = torch.from_numpy(x_fit).to(dev)
    y_all = torch.from_numpy(y_fit).to(dev)
    generator = torch.Generator().manual_seed(seed)
    predictor = TorchPredictor(module, architecture, dev)
    best, best_state, stale, epochs, seen, train_s = float("inf"), None, 0, 0, 0, 0.0
    for epoch in range(int(params["max_epochs"])):
        module.train()
        started = time.perf_counter()
        order = torch.randperm(len(x_all), generator=generator).to(dev)
        for start in range(0, len(order), int(params["batch_size"])):
            idx = order[start:start + int(params["batch_size"])]
            optimizer.zero_grad(set_to_none=True)
            with autocast:
                loss = loss_fn(module(x_all[idx]).float(), y_all[idx])
            loss.backward()
            optimizer.step()
        if dev == "cuda":
            torch.cuda.synchronize()
        train_s += time.perf_counter() - started
        seen += len(order)
        epochs = epoch + 1
        p = np.clip(predictor.predict(x_stop), 1e-7, 1 - 1e-7)
        stop_loss = float(-np.mean(y_stop * np.log(p) + (1 - y_stop) * np.log(1 - p)))
        log.info("torch_mlp epoch %d: early-stopping logloss %.4f", epochs, stop_loss)
        if stop_loss < best - 1e-5:
            best, stale = stop_loss, 0
            best_state = {k: v.detach().clone() for k, v in module.state_dict().items()}
        else:
            stale += 1
            if stale >= int(params["patience"]):
                break
    module.load_state_dict(best_state)
    module.to("cpu")
    info = {"epochs": float(epochs), "samples_per_s": seen / train_s, "cuda": float(dev == "cuda")}
    return FitResult(TorchPredictor(module, architecture, "cpu"), {}, info)


def save(predictor: TorchPredictor, path: Path, metadata: dict[str, Any]) -> None:
    from mlflow.models import Model

    path.mkdir(parents=True)
    torch.save(predictor.module.state_dict(), path / WEIGHTS)
    model = Model(metadata=metadata)
    model.add_flavor(FLAVOR, weights=WEIGHTS, architecture=json.dumps(predictor.architecture),
                     torch_version=str(torch.__version__))
    model.save(str(path / "MLmodel"))


def load(path: Path, threads: int | None = None) -> TorchPredictor:
    """Read the MLmodel file as plain YAML: a serving worker needs no MLflow import."""
    flavor = yaml.safe_load((path / "MLmodel").read_text())["flavors"][FLAVOR]
    if threads:
        torch.set_num_threads(threads)
    architecture = json.loads(flavor["architecture"])
    module = TabularMLP(**architecture)
    state = torch.load(path / flavor["weights"], weights_only=True, map_location="cpu")
    loaded = module.load_state_dict(state, strict=False)
    if set(loaded.missing_keys) - UNCLAMPED_BEFORE or loaded.unexpected_keys:  # older models load unclamped
        raise RuntimeError(f"{path / flavor['weights']} does not match its architecture: missing "
                           f"{loaded.missing_keys}, unexpected {loaded.unexpected_keys}")
    return TorchPredictor(module.eval(), architecture, "cpu")


SPEC = ModelSpec(name="torch_mlp", kinds=frozenset({"pytorch"}), fit=fit, save=save, load=load,
                 params=PARAMS, k8s_config=K8S_CONFIG)
