"""What a load may ask of a column: a value, ``In(values)``, a range (``Between``, ``AtLeast``,
``AtMost``, ``Below``) or a prefix (``StartsWith``), in SQL for ``SqlRows`` and in Python for
``MemoryRows``, with the same answers. ``Desc`` and ``Lock`` are the options of ``Rows.fetch_any``.

Ranges are inclusive at both ends, as SQL's ``BETWEEN``; a NULL is in no range, as in SQL. A bound is
taken as the column's type binds it, so on a ``UtcDateTime`` column a bound in any time zone means the
same instant on every backend, and a naive one is refused everywhere (``StatementError``).
"""

import functools
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Column, ColumnElement, Integer, String, Table, and_, bindparam, func
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import StatementError
from sqlalchemy.types import TypeDecorator


@dataclass(frozen=True)
class In:
    """The column holds one of ``values``."""

    values: Collection[Any]


@dataclass(frozen=True)
class Between:
    """``lo <= column <= hi``."""

    lo: Any
    hi: Any


@dataclass(frozen=True)
class AtLeast:
    """``column >= lo``."""

    lo: Any


@dataclass(frozen=True)
class AtMost:
    """``column <= hi``."""

    hi: Any


@dataclass(frozen=True)
class Below:
    """``column < hi``: what a keyset page asks of the column its cursor holds."""

    hi: Any


@dataclass(frozen=True)
class StartsWith:
    """The text begins with ``prefix``, taken literally (``%`` and ``_`` are no wildcards) and case
    by case on every backend (SQLite's ``LIKE`` alone ignores case)."""

    prefix: str


@dataclass(frozen=True)
class Desc:
    """Order by ``column``, greatest first (a plain column name orders least first)."""

    column: str


Order = str | Desc
"""Ordered columns should hold no NULL: the backends sort NULLs differently."""

Lock = Literal["update", "skip_locked"]
"""``FOR UPDATE`` (wait for rows another transaction holds) or ``FOR UPDATE SKIP LOCKED`` (leave them
out), on PostgreSQL; SQLite serializes writers, so it needs neither, and memory has one writer."""

Condition = In | Between | AtLeast | AtMost | Below | StartsWith
Where = Mapping[str, Any]
"""Column name -> a value it must equal (None: IS NULL), or a ``Condition``."""


Shape = tuple[tuple[str, str], ...]
"""Which columns a ``Where`` tests, and how: all its SQL depends on, its values aside."""


def shape_of(where: Where, prefix: str = "") -> tuple[Shape, dict[str, Any]]:
    """The shape of ``where`` and the values its conditions bind (named ``prefix``, column, kind).

    Statements are built once per shape (``sql_conditions``) and reused: SQLAlchemy then finds the
    compiled form by a cache key it computed once, where a statement built per call is walked per call.
    """
    shape: list[tuple[str, str]] = []
    params: dict[str, Any] = {}
    for name, wanted in where.items():
        key = f"{prefix}{name}"
        if isinstance(wanted, In):
            shape.append((name, "in"))
            params[f"{key}_in"] = list(wanted.values)
        elif isinstance(wanted, Between):
            shape.append((name, "between"))
            params[f"{key}_lo"], params[f"{key}_hi"] = wanted.lo, wanted.hi
        elif isinstance(wanted, AtLeast):
            shape.append((name, "at_least"))
            params[f"{key}_lo"] = wanted.lo
        elif isinstance(wanted, AtMost):
            shape.append((name, "at_most"))
            params[f"{key}_hi"] = wanted.hi
        elif isinstance(wanted, Below):
            shape.append((name, "below"))
            params[f"{key}_hi"] = wanted.hi
        elif isinstance(wanted, StartsWith):
            shape.append((name, "starts_with"))
            params[f"{key}_like"] = _like_prefix(wanted.prefix)
            params[f"{key}_prefix"], params[f"{key}_length"] = wanted.prefix, len(wanted.prefix)
        elif wanted is None:
            shape.append((name, "null"))
        else:
            shape.append((name, "eq"))
            params[f"{key}_eq"] = wanted
    return tuple(shape), params


@functools.lru_cache(maxsize=1024)
def sql_conditions(table: Table, shape: Shape, prefix: str = "") -> tuple[ColumnElement[bool], ...]:
    """The conditions of a shape on ``table``, each value a parameter named as ``shape_of`` names it."""
    conditions: list[ColumnElement[bool]] = []
    for name, kind in shape:
        column, key = table.c[name], f"{prefix}{name}"
        if kind == "in":
            conditions.append(column.in_(bindparam(f"{key}_in", expanding=True)))
        elif kind == "between":
            conditions.append(column.between(bindparam(f"{key}_lo"), bindparam(f"{key}_hi")))
        elif kind == "at_least":
            conditions.append(column >= bindparam(f"{key}_lo"))
        elif kind == "at_most":
            conditions.append(column <= bindparam(f"{key}_hi"))
        elif kind == "below":
            conditions.append(column < bindparam(f"{key}_hi"))
        elif kind == "starts_with":
            length, prefix_ = (
                bindparam(f"{key}_length", type_=Integer),
                bindparam(f"{key}_prefix", type_=String),
            )
            exact = func.substr(column, 1, length) == prefix_
            conditions.append(and_(column.like(bindparam(f"{key}_like"), escape=_ESCAPE), exact))
        elif kind == "null":
            conditions.append(column.is_(None))
        else:
            conditions.append(column == bindparam(f"{key}_eq"))
    return tuple(conditions)


_ESCAPE = "/"


def _like_prefix(prefix: str) -> str:
    """A ``LIKE`` pattern matching text that begins with ``prefix`` taken literally (what
    SQLAlchemy's ``startswith(autoescape=True)`` writes, as a bound value)."""
    for special in (_ESCAPE, "%", "_"):
        prefix = prefix.replace(special, _ESCAPE + special)
    return f"{prefix}%"


MAX_LISTED = 5_000
"""Values of ``In`` lists per statement: well under every driver's limit on bound parameters
(asyncpg and SQLite: 32,767), whatever the size of the poll a load serves."""


def bounded_parts(where: Where, limit: int = MAX_LISTED) -> list[Where]:
    """``where`` split into conditions that together match the same rows, each row once (the longest
    ``In`` list cut into disjoint parts) and each listing at most ``limit`` values."""
    lists = {name: wanted for name, wanted in where.items() if isinstance(wanted, In)}
    if sum(len(wanted.values) for wanted in lists.values()) <= limit:
        return [where]
    name, longest = max(lists.items(), key=lambda item: len(item[1].values))
    values = list(dict.fromkeys(longest.values))
    if len(values) <= 1:
        raise ValueError(f"the In lists of {sorted(lists)} list more than {limit} values together")
    half = len(values) // 2
    return [
        part
        for chunk in (values[:half], values[half:])
        for part in bounded_parts({**where, name: In(chunk)}, limit)
    ]


def nothing_matches(where: Where) -> bool:
    """An empty ``In``: no row can match, so no query is needed."""
    return any(isinstance(wanted, In) and not wanted.values for wanted in where.values())


class Matcher:
    """``where`` as a test of one row in memory, its values bound as the database would bind them."""

    def __init__(self, table: Table, where: Where) -> None:
        self._tests = [(name, _test(table.c[name], wanted)) for name, wanted in where.items()]

    def __call__(self, row: Mapping[str, Any]) -> bool:
        return all(test(row[name]) for name, test in self._tests)


def _test(column: Column[Any], wanted: Any) -> Any:
    if isinstance(wanted, In):
        values = {_bound(column, value) for value in wanted.values}
        return lambda value: value in values
    if isinstance(wanted, Between):
        lo, hi = _bound(column, wanted.lo), _bound(column, wanted.hi)
        return lambda value: value is not None and lo <= value <= hi
    if isinstance(wanted, AtLeast):
        lo = _bound(column, wanted.lo)
        return lambda value: value is not None and value >= lo
    if isinstance(wanted, AtMost):
        hi = _bound(column, wanted.hi)
        return lambda value: value is not None and value <= hi
    if isinstance(wanted, Below):
        below = _bound(column, wanted.hi)
        return lambda value: value is not None and value < below
    if isinstance(wanted, StartsWith):
        prefix = wanted.prefix
        return lambda value: value is not None and value.startswith(prefix)
    if wanted is None:
        return lambda value: value is None
    equal = _bound(column, wanted)
    return lambda value: value == equal


_AS_STORED: Dialect = postgresql.dialect()  # type: ignore[no-untyped-call]
"""The dialect whose binding memory imitates: it keeps aware times aware (SQLite's drops the zone)."""


def _bound(column: Column[Any], value: Any) -> Any:
    """A condition's value as the column's type would bind it (``UtcDateTime``: aware, in UTC)."""
    kind = column.type
    if value is None or not isinstance(kind, TypeDecorator):
        return value
    processor = kind.bind_processor(_AS_STORED)
    if processor is None:
        return value
    try:
        return processor(value)
    except (TypeError, ValueError) as exc:
        raise StatementError(str(exc), f"condition on {column.table}.{column.name}", value, exc) from exc
