"""A code location for tests/test_k8s.py: the real models/candidate, started by Dagster's own daemons.

A sensor asks for the torch candidate, declarative automation asks for every missing spec; the test runs
one sensor-daemon iteration and one backfill-daemon iteration against it and builds the Kubernetes Job
of each run those daemons created.
"""

import dagster as dg

from assets.models import CANDIDATE, candidate
from orchestration.definitions import resources

SENSOR = "retrain_torch_candidate"
AUTOMATION = "candidate_automation"


@dg.sensor(name=SENSOR, asset_selection=[CANDIDATE], default_status=dg.DefaultSensorStatus.RUNNING)
def retrain_torch_candidate():
    return dg.RunRequest(run_key="torch", partition_key="torch_mlp")


automated_candidate = candidate.map_asset_specs(  # every spec never trained: each tick, whatever is in flight
    lambda spec: spec.replace_attributes(automation_condition=dg.AutomationCondition.missing()))

defs = dg.Definitions(
    assets=[automated_candidate],
    sensors=[retrain_torch_candidate,
             dg.AutomationConditionSensorDefinition(AUTOMATION, target=[CANDIDATE],
                                                    default_status=dg.DefaultSensorStatus.RUNNING)],
    resources=resources,
)
