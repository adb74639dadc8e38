"""``make chart-check``: the rendered Helm chart against the Kubernetes schemas and KEDA's documented fields.

Kubernetes kinds go through ``kubernetes-validate`` (offline schemas, strict: an unknown field fails).
``ScaledObject`` is a KEDA custom resource the schemas do not know; it is checked against the fields
KEDA documents for the ScaledObject spec and the Kafka scaler, and against our own rules: one Kafka
trigger per topic the service reads, the consumer group named after the service, ``earliest``, at
least one replica (the same process serves the API) and no more than the topics' partitions.
"""

import argparse
import sys
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path
from typing import Any

import kubernetes_validate
import yaml

KUBERNETES_VERSION = "1.33.0"

SCALED_OBJECT_SPEC = {
    "scaleTargetRef", "pollingInterval", "cooldownPeriod", "initialCooldownPeriod", "idleReplicaCount",
    "minReplicaCount", "maxReplicaCount", "fallback", "advanced", "triggers",
}  # fmt: skip
SCALE_TARGET_REF = {"apiVersion", "kind", "name", "envSourceContainerName"}
FALLBACK = {"failureThreshold", "replicas"}
ADVANCED = {"restoreToOriginalReplicaCount", "horizontalPodAutoscalerConfig", "scalingModifiers"}
TRIGGER = {"type", "metadata", "name", "useCachedMetrics", "authenticationRef", "metricType"}
METRIC_TYPES = {"AverageValue", "Value", "Utilization"}
KAFKA_METADATA = {
    "bootstrapServers", "consumerGroup", "topic", "lagThreshold", "activationLagThreshold",
    "offsetResetPolicy", "allowIdleConsumers", "scaleToZeroOnInvalidOffset", "excludePersistentLag",
    "limitToPartitionsWithLag", "ensureEvenDistributionOfPartitions", "version", "partitionLimitation",
    "sasl", "saslTokenProvider", "tls", "unsafeSsl", "awsRegion",
}  # fmt: skip
KAFKA_CHOICES = {
    "offsetResetPolicy": {"latest", "earliest"},
    "sasl": {"plaintext", "scram_sha256", "scram_sha512", "gssapi", "oauthbearer", "none"},
    "saslTokenProvider": {"bearer", "aws_msk_iam"},
    "tls": {"enable", "disable"},
    "allowIdleConsumers": {"true", "false"},
    "scaleToZeroOnInvalidOffset": {"true", "false"},
    "excludePersistentLag": {"true", "false"},
    "limitToPartitionsWithLag": {"true", "false"},
    "ensureEvenDistributionOfPartitions": {"true", "false"},
    "unsafeSsl": {"true", "false"},
}


def _unknown(where: str, given: Mapping[str, Any], allowed: set[str]) -> list[str]:
    return [f"{where}: unknown field {key!r}" for key in sorted(set(given) - allowed)]


def _non_negative_int(where: str, value: Any) -> list[str]:
    ok = isinstance(value, int) and not isinstance(value, bool) and value >= 0
    return [] if ok else [f"{where}: must be a non-negative integer, got {value!r}"]


def keda_field_errors(obj: Mapping[str, Any]) -> list[str]:
    """What KEDA's ScaledObject reference and Kafka scaler page would reject or ignore."""
    name = obj.get("metadata", {}).get("name", "?")
    errors: list[str] = []
    if obj.get("apiVersion") != "keda.sh/v1alpha1":
        errors.append(f"{name}: apiVersion must be keda.sh/v1alpha1")
    spec = obj.get("spec") or {}
    errors += _unknown(f"{name}.spec", spec, SCALED_OBJECT_SPEC)
    target = spec.get("scaleTargetRef") or {}
    errors += _unknown(f"{name}.spec.scaleTargetRef", target, SCALE_TARGET_REF)
    if not target.get("name"):
        errors.append(f"{name}: spec.scaleTargetRef.name is mandatory")
    for key in ("pollingInterval", "cooldownPeriod", "initialCooldownPeriod", "idleReplicaCount",
                "minReplicaCount", "maxReplicaCount"):  # fmt: skip
        if key in spec:
            errors += _non_negative_int(f"{name}.spec.{key}", spec[key])
    low, high = spec.get("minReplicaCount", 0), spec.get("maxReplicaCount", 100)
    if isinstance(low, int) and isinstance(high, int) and low > high:
        errors.append(f"{name}: minReplicaCount {low} exceeds maxReplicaCount {high}")
    if "idleReplicaCount" in spec and spec["idleReplicaCount"] >= low:
        errors.append(f"{name}: idleReplicaCount must be less than minReplicaCount")
    if "fallback" in spec:
        fallback = spec["fallback"] or {}
        errors += _unknown(f"{name}.spec.fallback", fallback, FALLBACK)
        errors += [f"{name}: fallback.{key} is mandatory" for key in sorted(FALLBACK - set(fallback))]
    errors += _unknown(f"{name}.spec.advanced", spec.get("advanced") or {}, ADVANCED)
    triggers = spec.get("triggers")
    if not isinstance(triggers, list) or not triggers:
        return [*errors, f"{name}: spec.triggers must list at least one trigger"]
    for index, trigger in enumerate(triggers):
        errors += _trigger_errors(f"{name}.spec.triggers[{index}]", trigger)
    return errors


def _trigger_errors(where: str, trigger: Mapping[str, Any]) -> list[str]:
    errors = _unknown(where, trigger, TRIGGER)
    if "metricType" in trigger and trigger["metricType"] not in METRIC_TYPES:
        errors.append(f"{where}: metricType must be one of {sorted(METRIC_TYPES)}")
    if "authenticationRef" in trigger and not (trigger["authenticationRef"] or {}).get("name"):
        errors.append(f"{where}: authenticationRef needs a name")
    metadata = trigger.get("metadata")
    if not isinstance(metadata, dict) or not metadata:
        return [*errors, f"{where}: metadata is mandatory"]
    errors += [
        f"{where}.metadata.{key}: KEDA metadata values are strings, got {type(value).__name__}"
        for key, value in metadata.items()
        if not isinstance(value, str)
    ]
    if trigger.get("type") != "kafka":
        return errors
    errors += _unknown(f"{where}.metadata", metadata, KAFKA_METADATA)
    errors += [
        f"{where}: kafka needs {key}"
        for key in ("bootstrapServers", "consumerGroup")
        if not metadata.get(key)
    ]
    for key, choices in KAFKA_CHOICES.items():
        if key in metadata and str(metadata[key]) not in choices:
            errors.append(f"{where}.metadata.{key}: {metadata[key]!r} is not one of {sorted(choices)}")
    for key in ("lagThreshold", "activationLagThreshold"):
        if key in metadata and not str(metadata[key]).isdigit():
            errors.append(f"{where}.metadata.{key}: must be a whole number, got {metadata[key]!r}")
    return errors


def pipeline_rule_errors(
    obj: Mapping[str, Any],
    deployments: Mapping[str, Mapping[str, Any]],
    topics: Mapping[str, set[str]],
    partitions: int,
) -> list[str]:
    """Our rules: the Deployment exists, its group and topics are the trigger's, earliest, 1..partitions."""
    name = obj["metadata"]["name"]
    spec = obj["spec"]
    target = spec["scaleTargetRef"]["name"]
    deployment = deployments.get(target)
    if deployment is None:
        return [f"{name}: scales {target!r}, which the chart does not render"]
    service = deployment["metadata"]["labels"]["app.kubernetes.io/name"]
    errors: list[str] = []
    if spec.get("minReplicaCount", 0) < 1:
        errors.append(f"{name}: minReplicaCount must be at least 1: the same process serves the API")
    if spec.get("maxReplicaCount", 100) > partitions:
        errors.append(f"{name}: maxReplicaCount exceeds the {partitions} partitions the group can share")
    kafka = [t for t in spec["triggers"] if t.get("type") == "kafka"]
    groups = {t["metadata"].get("consumerGroup") for t in kafka}
    if groups != {service}:
        errors.append(
            f"{name}: consumerGroup must be the service's group {service!r}, got {sorted(map(str, groups))}"
        )
    if any(t["metadata"].get("offsetResetPolicy") != "earliest" for t in kafka):
        errors.append(f"{name}: offsetResetPolicy must be earliest, as the consumers start")
    triggered = {t["metadata"].get("topic") for t in kafka}
    if service in topics and triggered != topics[service]:
        watched, read = sorted(map(str, triggered)), sorted(topics[service])
        errors.append(f"{name}: triggers watch {watched}, the service reads {read}")
    return errors


def documents(paths: Iterable[Path]) -> Iterator[dict[str, Any]]:
    for path in paths:
        for document in yaml.safe_load_all(path.read_text()):
            if document:
                yield document


def check(rendered: list[dict[str, Any]], topics: Mapping[str, set[str]], partitions: int) -> list[str]:
    errors: list[str] = []
    deployments = {d["metadata"]["name"]: d for d in rendered if d.get("kind") == "Deployment"}
    for document in rendered:
        kind, name = document.get("kind"), document.get("metadata", {}).get("name")
        if kind == "ScaledObject":
            field_errors = keda_field_errors(document)
            errors += field_errors or pipeline_rule_errors(document, deployments, topics, partitions)
            continue
        try:
            kubernetes_validate.validate(document, KUBERNETES_VERSION, strict=True)
        except kubernetes_validate.ValidationError as exc:
            errors.append(f"{kind} {name}: {exc.message} at {'/'.join(map(str, exc.path))}")
        except kubernetes_validate.SchemaNotFoundError:
            errors.append(f"{kind} {name}: no Kubernetes {KUBERNETES_VERSION} schema for this kind")
    return errors


def consumed_topics() -> dict[str, set[str]]:
    """What each service's consumer group reads, from the app's own handler registry (not the chart)."""
    import importlib

    from seevee_shared.command import SERVICES

    topics: dict[str, set[str]] = {}
    for service in SERVICES:
        app = importlib.import_module(f"{service.replace('-', '_')}.app").create_app()
        consumer = app.state.runtime.consumer
        topics[service] = {getattr(t, "value", t) for t in consumer.topics} if consumer else set()
    return topics


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(
        prog="python -m seevee_deploy.chart_check", description=__doc__.split("\n")[0]
    )
    parser.add_argument("rendered", nargs="+", type=Path, help="output of helm template")
    parser.add_argument("--partitions", type=int, default=6)
    args = parser.parse_args(argv)
    rendered = list(documents(args.rendered))
    errors = check(rendered, consumed_topics(), args.partitions)
    kinds = sorted({str(d.get("kind")) for d in rendered})
    for error in errors:
        print(f"  {error}", file=sys.stderr)
    print(f"chart-check: {len(rendered)} manifests ({', '.join(kinds)}), {len(errors)} problems", flush=True)
    sys.exit(1 if errors else 0)


if __name__ == "__main__":
    main()
