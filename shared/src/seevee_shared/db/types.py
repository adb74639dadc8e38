"""Column types that keep times aware and in UTC on every backend."""

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import DateTime
from sqlalchemy.engine import Dialect
from sqlalchemy.types import TypeDecorator

Processor = Callable[[Any], Any]

_SAMPLES = (datetime(2026, 1, 2, 3, 4, 5, 6), datetime(2026, 1, 2, 3, 4, 5))
"""Naive times, with and without microseconds, to check the driver stores what ``isoformat`` writes."""


def utcnow() -> datetime:
    return datetime.now(UTC)


def _utc(value: datetime) -> datetime:
    offset = value.utcoffset()
    if offset is None:
        raise ValueError("naive datetime given to a UTC column")
    return value.astimezone(UTC) if offset else value


class UtcDateTime(TypeDecorator[datetime]):
    """Stores UTC; always hands back an aware datetime (SQLite drops the zone otherwise).

    Binding and reading are one Python call per value (a TypeDecorator's default is two or three,
    and SQLAlchemy's SQLite binding formats through a dict): a poll binds thousands of times.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        value = _utc(value)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if isinstance(value, str):
            value = datetime.fromisoformat(value)
        moment: datetime = value
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)

    def bind_processor(self, dialect: Dialect) -> Processor:
        driver = self.impl_instance.dialect_impl(dialect).bind_processor(dialect)
        if dialect.name == "sqlite" and driver is not None and _stores_isoformat(driver):
            last: list[tuple[datetime | None, str | None]] = [(None, None)]
            """The last value bound and its text (one tuple, swapped whole: the driver's threads
            share it): a poll's rows mostly carry one ``now`` for all of them."""

            def to_sqlite(value: datetime | None) -> str | None:
                if value is None:
                    return None
                seen, text = last[0]
                if value is seen:
                    return text
                moment = value if value.tzinfo is UTC else _utc(value)
                text = moment.isoformat(" ", "microseconds")[:26]  # the zone dropped, as stored
                last[0] = (value, text)
                return text

            return to_sqlite

        def bind(value: datetime | None) -> Any:
            bound = self.process_bind_param(value, dialect)
            return driver(bound) if driver is not None else bound

        return bind

    def result_processor(self, dialect: Dialect, coltype: Any) -> Processor:
        driver = self.impl_instance.dialect_impl(dialect).result_processor(dialect, coltype)

        def read(value: Any) -> datetime | None:
            if value is None:
                return None
            if driver is not None:
                value = driver(value)
            elif isinstance(value, str):
                value = datetime.fromisoformat(value)
            moment: datetime = value
            tz = moment.tzinfo
            if tz is None:
                return moment.replace(tzinfo=UTC)
            return moment if tz is UTC else moment.astimezone(UTC)

        return read


def _stores_isoformat(driver: Processor) -> bool:
    """Whether the dialect's own binding writes a naive time as ``isoformat(" ", "microseconds")``
    (SQLite's default storage format), so that the quicker spelling binds exactly the same text."""
    return all(driver(sample) == sample.isoformat(" ", "microseconds") for sample in _SAMPLES)
