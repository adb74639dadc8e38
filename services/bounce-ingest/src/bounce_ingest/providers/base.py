"""What every provider module shares: the request it is given, the two failures it may raise, its shape."""

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field


class Headers(Mapping[str, str]):
    """HTTP headers looked up case-insensitively; a repeated header keeps its last value."""

    __slots__ = ("_items",)

    def __init__(self, items: Mapping[str, str] | Iterable[tuple[str, str]] = ()) -> None:
        pairs = items.items() if isinstance(items, Mapping) else items
        self._items: dict[str, str] = {name.lower(): value for name, value in pairs}

    def __getitem__(self, name: str) -> str:
        return self._items[name.lower()]

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __repr__(self) -> str:
        return f"Headers({sorted(self._items)})"


@dataclass(frozen=True, slots=True)
class WebhookRequest:
    """One webhook POST as received: signatures cover the raw bytes, so nothing here is re-serialized."""

    method: str
    url: str
    headers: Headers
    body: bytes
    query: Mapping[str, str] = field(default_factory=dict)


class Unauthorized(Exception):
    """The request is not provably from the provider (or the provider is not configured)."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class BadPayload(Exception):
    """The body is not what the provider sends; a retry of the same bytes can never succeed."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class ProviderUnavailable(Exception):
    """Something verification needs (a certificate, a confirmation call) is out of reach; retry later."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ProviderResponses:
    """The HTTP status to answer per outcome, chosen by what makes this provider retry or give up."""

    unauthorized: int = 401
    bad_payload: int = 400
    transient: int = 503
    accepted: int = 200
