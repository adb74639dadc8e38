"""The chart checker: KEDA's documented fields, our scaling rules, and the chart's topics against the code."""

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from seevee_deploy.chart_check import check, consumed_topics, keda_field_errors

VALUES = Path(__file__).resolve().parents[1] / "helm" / "seevee" / "values.yaml"
TOPICS = {"task-service": {"message.bounced"}}


def _deployment() -> dict[str, Any]:
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": {"name": "seevee-task-service", "labels": {"app.kubernetes.io/name": "task-service"}},
        "spec": {
            "selector": {"matchLabels": {"app": "t"}},
            "template": {
                "metadata": {"labels": {"app": "t"}},
                "spec": {"containers": [{"name": "task-service", "image": "seevee-service:local"}]},
            },
        },
    }


def _scaled_object() -> dict[str, Any]:
    return {
        "apiVersion": "keda.sh/v1alpha1",
        "kind": "ScaledObject",
        "metadata": {"name": "seevee-task-service"},
        "spec": {
            "scaleTargetRef": {"name": "seevee-task-service"},
            "minReplicaCount": 1,
            "maxReplicaCount": 6,
            "triggers": [
                {
                    "type": "kafka",
                    "metadata": {
                        "bootstrapServers": "kafka:9092",
                        "consumerGroup": "task-service",
                        "topic": "message.bounced",
                        "lagThreshold": "200",
                        "offsetResetPolicy": "earliest",
                    },
                }
            ],
        },
    }


def test_a_well_formed_chart_passes() -> None:
    assert check([_deployment(), _scaled_object()], TOPICS, partitions=6) == []


def _broken(path: list[Any], value: Any) -> dict[str, Any]:
    obj = copy.deepcopy(_scaled_object())
    node = obj
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return obj


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (["spec", "minReplicas"], 1, "unknown field 'minReplicas'"),
        (["spec", "scaleTargetRef", "name"], KeyError, "scaleTargetRef.name is mandatory"),
        (["spec", "triggers"], [], "at least one trigger"),
        (["spec", "triggers", 0, "metadata", "lagThreshold"], 200, "values are strings"),
        (["spec", "triggers", 0, "metadata", "lagThreshold"], "lots", "whole number"),
        (["spec", "triggers", 0, "metadata", "offsetResetPolicy"], "oldest", "not one of"),
        (["spec", "triggers", 0, "metadata", "topics"], "message.bounced", "unknown field 'topics'"),
        (["spec", "triggers", 0, "metadata", "consumerGroup"], KeyError, "kafka needs consumerGroup"),
        (["spec", "fallback"], {"replicas": 2}, "fallback.failureThreshold is mandatory"),
        (["spec", "minReplicaCount"], 7, "exceeds maxReplicaCount"),
    ],
)
def test_what_keda_documents_otherwise_is_refused(path: list[Any], value: Any, problem: str) -> None:
    errors = keda_field_errors(_broken(path, value))
    assert any(problem in error for error in errors), errors


@pytest.mark.parametrize(
    ("path", "value", "problem"),
    [
        (["spec", "minReplicaCount"], 0, "at least 1"),
        (["spec", "maxReplicaCount"], 12, "exceeds the 6 partitions"),
        (["spec", "triggers", 0, "metadata", "consumerGroup"], "tasks", "the service's group"),
        (["spec", "triggers", 0, "metadata", "offsetResetPolicy"], "latest", "earliest"),
        (["spec", "triggers", 0, "metadata", "topic"], "message.sent", "the service reads"),
        (["spec", "scaleTargetRef", "name"], "seevee-nothing", "does not render"),
    ],
)
def test_our_scaling_rules_are_enforced(path: list[Any], value: Any, problem: str) -> None:
    errors = check([_deployment(), _broken(path, value)], TOPICS, partitions=6)
    assert any(problem in error for error in errors), errors


def test_kubernetes_kinds_are_validated_strictly() -> None:
    deployment = _deployment()
    deployment["spec"]["replicaz"] = 2
    errors = check([deployment], TOPICS, partitions=6)
    assert errors and "replicaz" in errors[0]


def test_the_chart_scales_each_consumer_on_the_topics_its_code_reads() -> None:
    values = yaml.safe_load(VALUES.read_text())
    chart = {name: set(service["topics"]) for name, service in values["services"].items()}
    assert chart == consumed_topics()
    assert all(
        1 <= s["minReplicas"] <= s["maxReplicas"] <= values["partitions"] for s in values["services"].values()
    )
