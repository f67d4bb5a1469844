"""Every test session gets its own ML_PLATFORM_HOME, set before the platform reads its settings."""

import os
import tempfile

os.environ["ML_PLATFORM_HOME"] = tempfile.mkdtemp(prefix="ml-platform-test-")
os.environ.pop("MLFLOW_TRACKING_URI", None)
os.environ["MLFLOW_DISABLE_TELEMETRY"] = "true"
os.environ["BENTOML_DO_NOT_TRACK"] = "true"
