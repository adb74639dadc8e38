"""CloudEvents 1.0 in structured JSON mode: the envelope of every record on Kafka (ARCHITECTURE 3)."""

import builtins
import uuid
from datetime import UTC, datetime
from functools import cache
from typing import Any, Generic, Literal, TypeVar

import orjson
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from seevee_shared.events import AwareDatetime, EventData

CONTENT_TYPE = "application/cloudevents+json"
M = TypeVar("M", bound=EventData)


class InvalidEvent(ValueError):
    """A record that is not a CloudEvent of ours: it can never be processed, so it is dead-lettered."""


class _Envelope(BaseModel):
    """The CloudEvents attributes every record carries, whatever its data."""

    model_config = ConfigDict(extra="ignore")

    specversion: Literal["1.0"] = "1.0"
    id: str = Field(min_length=1)
    source: str = Field(min_length=1)
    type: str = Field(min_length=1)
    time: AwareDatetime
    subject: str = Field(min_length=1)
    datacontenttype: str = "application/json"
    dataschema: str
    workspaceid: str = Field(min_length=1)


class TypedEvent(_Envelope, Generic[M]):
    """A CloudEvent whose data is already its topic's payload model (decoded in one pass, see
    ``decode_as``)."""

    data: M


class CloudEvent(_Envelope):
    data: dict[str, Any]

    @classmethod
    def build(
        cls,
        data: EventData,
        *,
        source: str,
        workspace_id: str,
        subject: str,
        event_id: str | None = None,
        time: datetime | None = None,
    ) -> "CloudEvent":
        """Wrap an event payload; the type is its topic and ``subject`` (the Kafka key) its contact id.

        The payload is a model validated when it was made, so the envelope's own rules are checked
        here directly instead of validating the whole event again (a tenth of a consumer's poll).
        """
        moment = time or datetime.now(UTC)
        if moment.utcoffset() is None:
            raise ValueError("an event's time must carry a timezone")
        empty = [
            name
            for name, value in (("source", source), ("subject", subject), ("workspaceid", workspace_id))
            if not value
        ]
        if empty:
            raise ValueError(f"an event's {', '.join(empty)} must not be empty")
        return cls.model_construct(
            specversion="1.0",
            id=event_id or str(uuid.uuid4()),
            source=source,
            type=data.topic,
            time=moment,
            subject=subject,
            datacontenttype="application/json",
            dataschema=f"urn:seevee:{data.topic}:{data.major}",
            workspaceid=workspace_id,
            data=data.model_dump(mode="json"),
        )

    def data_as(self, model: builtins.type[M]) -> M:
        """Validate the payload against a model; a mismatch is an ``InvalidEvent``."""
        try:
            return model.model_validate(self.data)
        except ValidationError as exc:
            raise InvalidEvent(f"{self.type} {self.id}: {exc}") from exc

    @property
    def key(self) -> bytes:
        return self.subject.encode()


def encode(event: CloudEvent) -> bytes:
    """Compact UTF-8 JSON straight from pydantic's Rust serializer (no intermediate dict)."""
    return event.__pydantic_serializer__.to_json(event)


def decode(raw: bytes | None) -> CloudEvent:
    """Parse a record value; anything that is not a valid structured CloudEvent raises ``InvalidEvent``."""
    if raw is None:
        raise InvalidEvent("record has no value")
    try:
        return CloudEvent.model_validate(orjson.loads(raw))
    except (orjson.JSONDecodeError, ValidationError) as exc:
        raise InvalidEvent(str(exc)) from exc


@cache
def _typed(model: builtins.type[M]) -> builtins.type[TypedEvent[M]]:
    return TypedEvent[model]  # type: ignore[valid-type]


def decode_as(raw: bytes | None, model: builtins.type[M]) -> TypedEvent[M]:
    """Parse a record value straight into the envelope and the payload model, in pydantic's Rust
    parser (no intermediate dict); anything invalid, envelope or data, raises ``InvalidEvent``."""
    if raw is None:
        raise InvalidEvent("record has no value")
    try:
        return _typed(model).model_validate_json(raw)
    except ValidationError as exc:
        raise InvalidEvent(str(exc)) from exc
