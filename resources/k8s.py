"""Kubernetes: step pods get the resources their *partition* asks for, whoever launched the run.

`dagster-k8s/config` run tags are lost on runs started by backfills, sensors and auto-materialization
(dagster issues #26720, #22865), and op tags cannot differ per partition. Every partitioned run does
carry `dagster/partition`, whatever started it, so the per-partition config is declared on the asset
(``PARTITION_K8S_CONFIG_TAG``) and resolved when the step's Kubernetes Job is built.
"""

import json
from collections.abc import Mapping

import dagster as dg
from dagster_k8s import k8s_job_executor
from dagster_k8s.container_context import K8sContainerContext
from dagster_k8s.executor import K8sStepHandler
from dagster_k8s.job import UserDefinedDagsterK8sConfig, get_user_defined_k8s_config

PARTITION_K8S_CONFIG_TAG = "ml-platform/k8s-config-by-partition"
PARTITION_TAG = "dagster/partition"


def partition_k8s_config_tags(configs: Mapping[str, dict]) -> dict[str, str]:
    """Op tags declaring each partition's `dagster-k8s/config` (tags must be strings)."""
    return {PARTITION_K8S_CONFIG_TAG: json.dumps({k: v for k, v in configs.items() if v}, sort_keys=True)}


def step_k8s_config(step_tags: Mapping[str, str], run_tags: Mapping[str, str]) -> UserDefinedDagsterK8sConfig:
    """The step's own `dagster-k8s/config`, deep-merged with its run's partition's config."""
    base = get_user_defined_k8s_config(step_tags)
    by_partition = json.loads(step_tags.get(PARTITION_K8S_CONFIG_TAG, "{}"))
    extra = by_partition.get(run_tags.get(PARTITION_TAG, ""))
    if not extra:
        return base
    merged = K8sContainerContext(run_k8s_config=base).merge(
        K8sContainerContext(run_k8s_config=UserDefinedDagsterK8sConfig.from_dict(extra))
    )
    return merged.run_k8s_config


class PartitionAwareK8sStepHandler(K8sStepHandler):
    """dagster-k8s's step handler, plus the partition's config on the step's container context."""

    def _get_container_context(self, step_handler_context) -> K8sContainerContext:
        context = super()._get_container_context(step_handler_context)
        step_key = self._get_step_key(step_handler_context)
        config = step_k8s_config(step_handler_context.step_tags[step_key], step_handler_context.dagster_run.tags)
        return context.merge(K8sContainerContext(run_k8s_config=config))


def _create_executor(init_context):
    executor = k8s_job_executor.executor_creation_fn(init_context)
    # the one reach into dagster-k8s: same handler, with the partition-aware container context
    executor._step_handler.__class__ = PartitionAwareK8sStepHandler  # noqa: SLF001
    return executor


partition_aware_k8s_job_executor = dg.ExecutorDefinition(
    name="k8s_partition_aware",
    config_schema=k8s_job_executor.config_schema,
    requirements=k8s_job_executor.get_requirements,
    executor_creation_fn=_create_executor,
    description="k8s_job_executor whose step pods also get their partition's dagster-k8s/config.",
)
