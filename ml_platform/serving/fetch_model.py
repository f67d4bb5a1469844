"""Fetch the model version to serve from MLflow into a directory the service loads without MLflow.

``python -m ml_platform.serving.fetch_model --dest /models`` exports ``ML_PLATFORM_MODEL_VERSION``
(else the ``champion`` alias) to ``/models/<version>``: the init container of the Kubernetes pods,
the step the local deployer does in-process before it starts ``bentoml serve``.
"""

from __future__ import annotations

import argparse
import logging
import os
from pathlib import Path

from ml_platform import registry
from ml_platform.settings import MODEL_NAME

log = logging.getLogger(__name__)


def main(argv: list[str] | None = None) -> Path:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dest", type=Path, required=True)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    version = os.environ.get("ML_PLATFORM_MODEL_VERSION") or registry.alias_version(MODEL_NAME, registry.CHAMPION)
    if version is None:
        raise SystemExit(f"{MODEL_NAME} has no champion alias and ML_PLATFORM_MODEL_VERSION is not set")
    return registry.export_model(MODEL_NAME, version, args.dest)


if __name__ == "__main__":
    main()
