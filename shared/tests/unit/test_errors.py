import pytest
from pydantic import BaseModel, ValidationError
from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from seevee_shared.bus.errors import is_transient
from seevee_shared.cloudevents import InvalidEvent


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(sqlstate)
        self.sqlstate = sqlstate


def _validation_error() -> ValidationError:
    class Model(BaseModel):
        n: int

    try:
        Model.model_validate({"n": "x"})
    except ValidationError as exc:
        return exc
    raise AssertionError("unreachable")


@pytest.mark.parametrize(
    ("error", "transient"),
    [
        (OperationalError("SELECT 1", {}, Exception("database is locked")), True),
        (TimeoutError(), True),
        (ConnectionResetError(), True),
        (DBAPIError("UPDATE", {}, _PgError("40P01")), True),
        (DBAPIError("UPDATE", {}, _PgError("40001")), True),
        (IntegrityError("INSERT", {}, _PgError("23505")), False),
        (InvalidEvent("bad"), False),
        (_validation_error(), False),
        (RuntimeError("bug"), False),
    ],
)
def test_which_failures_are_retried_without_end(error: BaseException, transient: bool) -> None:
    assert is_transient(error) is transient
