"""``UtcDateTime``'s quick binding and reading give exactly what the general path gives."""

from datetime import UTC, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Dialect

from seevee_shared.db import UtcDateTime

DIALECTS: list[Dialect] = [sqlite.dialect(), postgresql.dialect()]  # type: ignore[no-untyped-call]
MOMENT = datetime(2026, 3, 29, 1, 30, 5, 123456, tzinfo=UTC)
AWARE = [
    MOMENT,
    MOMENT.replace(microsecond=0),
    MOMENT.astimezone(timezone(timedelta(hours=-7))),
    MOMENT.astimezone(ZoneInfo("Europe/Paris")),
    MOMENT.astimezone(ZoneInfo("UTC")),
    datetime(1, 1, 1, tzinfo=UTC),
]


def _general_bind(kind: UtcDateTime, dialect: Dialect, value: datetime | None) -> object:
    driver = kind.impl_instance.dialect_impl(dialect).bind_processor(dialect)
    bound = kind.process_bind_param(value, dialect)
    return driver(bound) if driver is not None and bound is not None else bound


@pytest.mark.parametrize("dialect", DIALECTS, ids=lambda d: d.name)
def test_binding_matches_the_general_path(dialect: Dialect) -> None:
    kind = UtcDateTime()
    bind = kind.bind_processor(dialect)
    for value in [*AWARE, None, *AWARE, AWARE[0], AWARE[0]]:  # repeats: the last value is kept
        assert bind(value) == _general_bind(kind, dialect, value)
    with pytest.raises(ValueError, match="naive"):
        bind(MOMENT.replace(tzinfo=None))


def test_sqlite_reads_back_aware_utc() -> None:
    dialect = DIALECTS[0]
    kind = UtcDateTime()
    bind, read = kind.bind_processor(dialect), kind.result_processor(dialect, None)
    for value in AWARE:
        back = read(bind(value))
        assert back == value and back.tzinfo is UTC
    assert read(None) is None
