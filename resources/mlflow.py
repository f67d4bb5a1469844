"""MLflow through dagster-mlflow, with the artifact root the platform chooses."""

import dagster as dg
import mlflow
from dagster_mlflow import mlflow_tracking
from dagster_mlflow.resources import CONFIG_SCHEMA

from ml_platform import registry

MLFLOW_CONFIG_SCHEMA = {
    **CONFIG_SCHEMA,
    "artifact_location": dg.Field(dg.StringSource, description="Artifact root for a new experiment."),
}


@dg.resource(config_schema=MLFLOW_CONFIG_SCHEMA, description=mlflow_tracking.description)
def mlflow_tracking_resource(init_context: dg.InitResourceContext):
    """dagster-mlflow's run-per-Dagster-run tracking; creates the experiment with our artifact root first.

    Without it MLflow would create the experiment with ``./mlruns`` relative to whatever the
    current directory of the step is.
    """
    config = init_context.resource_config
    if config.get("mlflow_tracking_uri"):
        mlflow.set_tracking_uri(config["mlflow_tracking_uri"])
    registry.ensure_experiment(config["experiment_name"], config["artifact_location"])
    return mlflow_tracking.resource_fn(init_context)
