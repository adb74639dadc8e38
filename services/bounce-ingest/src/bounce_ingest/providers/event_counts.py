"""Prometheus counts of the webhook events that are neither bounces nor complaints, by provider and type.

``ignored`` counts every such event (deliveries, opens, deferrals, unsubscribe clicks...); ``unknown``
only the types a provider's docs do not list, which is the one to alert on: a provider started sending
something new. Types come from the payload, so their labels are clipped and capped per provider.
"""

from collections.abc import Mapping

from prometheus_client import Counter

MAX_LABEL = 48
MAX_TYPES = 200
"""Distinct labels kept per provider; further ones are counted as ``other``."""

IGNORED = Counter(
    "bounce_ingest_webhook_events_ignored_total",
    "Webhook events acknowledged without a bounce or complaint, by provider and event type.",
    ["provider", "type"],
)
UNKNOWN = Counter(
    "bounce_ingest_webhook_events_unknown_total",
    "Webhook events of a type the provider does not document, acknowledged and counted.",
    ["provider", "type"],
)
_labels: dict[str, set[str]] = {}


def event_type(key: str) -> str:
    """The event type of an ignored key such as ``failed/temporary`` or ``Bounce/AutoResponder``."""
    return key.partition("/")[0]


def is_known(key: str, known: frozenset[str]) -> bool:
    return event_type(key) in known or key.endswith("unreadable")


def _label(provider: str, key: str) -> str:
    label = key[:MAX_LABEL]
    seen = _labels.setdefault(provider, set())
    if label in seen:
        return label
    if len(seen) >= MAX_TYPES:
        return "other"
    seen.add(label)
    return label


def count_ignored(provider: str, known: frozenset[str], ignored: Mapping[str, int]) -> None:
    """Count one request's ignored events."""
    for key, count in ignored.items():
        label = _label(provider, key)
        IGNORED.labels(provider, label).inc(count)
        if not is_known(key, known):
            UNKNOWN.labels(provider, label).inc(count)
