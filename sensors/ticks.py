"""A sensor tick as Dagster's daemon has it evaluated, for the replay and the tests.

``SensorDefinition.evaluate_tick`` is what Dagster's code server runs for the sensor daemon: beyond calling
the sensor, it checks each run request against the sensor's target and resolves its job, partition and tags.
Calling the sensor function directly skips all of that, so a sensor the daemon rejects would look fine.
"""

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import dagster as dg


@dataclass(frozen=True)
class Tick:
    cursor: str | None
    requests: list[tuple[str, dg.RunRequest]]  # (the job the daemon would launch, the resolved request)
    asset_events: list[Any]
    skip_reason: str | None


def evaluate(defs: dg.Definitions, sensor_name: str, *, instance: dg.DagsterInstance | None = None,
             cursor: str | None = None, resources: Mapping[str, Any] | None = None) -> Tick:
    """One tick of ``sensor_name``; ``resources`` replace the definitions' own (tests point them elsewhere)."""
    sensor = defs.resolve_sensor_def(sensor_name)
    available = {**defs.resources, **(resources or {})}
    needed = {key: available[key] for key in sensor.required_resource_keys}  # as the code server builds them
    with dg.build_sensor_context(instance=instance, cursor=cursor, resources=needed, definitions=defs,
                                 sensor_name=sensor_name) as context:
        data = sensor.evaluate_tick(context)
    return Tick(data.cursor, [(r.job_name or sensor.job_name, r) for r in data.run_requests or []],
                list(data.asset_events or []), data.skip_message)
