"""The shape of one ESP in the registry: adding an ESP is one module and one registry line."""

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, TypeVar

from bounce_ingest.providers.base import ProviderResponses, WebhookRequest
from bounce_ingest.providers.credentials import ProviderRuntime, WebhookCredentials
from bounce_ingest.records import ParsedRequest

C = TypeVar("C")


@dataclass(frozen=True, slots=True)
class Provider(Generic[C]):
    """One ESP: how to check a request, how to read it, what to answer, which credentials it needs.

    ``credentials`` builds the provider's credentials from the settings and the runtime pieces (token
    cache, certificate store); it returns None when the provider is not configured, and ``verify``
    then rejects everything.
    """

    name: str
    verify: Callable[[WebhookRequest, C | None, datetime], Awaitable[None]]
    parse: Callable[[WebhookRequest], ParsedRequest]
    responses: ProviderResponses
    credentials: Callable[[WebhookCredentials, ProviderRuntime], C | None]
    events: frozenset[str] = frozenset()
    """The event types the provider documents; any other type is acknowledged and counted as unknown."""
