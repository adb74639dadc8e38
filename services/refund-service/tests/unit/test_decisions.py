"""Which refund moves a user or support may make."""

import pytest

from refund_service.domain.decisions import Action, TransitionRefusedError, next_status
from refund_service.domain.eligibility import Status

ALLOWED: list[tuple[Action, Status, Status]] = [
    ("request", "eligible", "requested"),
    ("request", "needs_review", "requested"),
    ("approve", "requested", "approved"),
    ("deny", "requested", "denied"),
]
REFUSED: list[tuple[Action, Status]] = [
    ("request", "ineligible"),
    ("request", "requested"),
    ("request", "approved"),
    ("request", "denied"),
    ("approve", "eligible"),
    ("approve", "needs_review"),
    ("approve", "approved"),
    ("approve", "denied"),
    ("deny", "eligible"),
    ("deny", "ineligible"),
    ("deny", "denied"),
]


@pytest.mark.parametrize(("action", "current", "target"), ALLOWED)
def test_allowed(action: Action, current: Status, target: Status) -> None:
    assert next_status(action, current) == target


@pytest.mark.parametrize(("action", "current"), REFUSED)
def test_refused(action: Action, current: Status) -> None:
    with pytest.raises(TransitionRefusedError):
        next_status(action, current)
