"""failure_alert_sensor: a failed run (a blocking check included) is logged and sent to the alert webhook."""

import dagster as dg

from resources.monitoring import MonitoringResource


@dg.run_failure_sensor(default_status=dg.DefaultSensorStatus.RUNNING)
def failure_alert_sensor(context: dg.RunFailureSensorContext, monitor: MonitoringResource) -> None:
    """Name the run, its job and what failed (a blocking check's failure is the run's failure message)."""
    failed_steps = [e.step_key for e in context.get_step_failure_events()]
    monitor.alert({"kind": "run_failure", "run_id": context.dagster_run.run_id,
                   "job": context.dagster_run.job_name, "steps": failed_steps,
                   "summary": context.failure_event.message or "run failed"})
