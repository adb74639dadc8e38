"""Who may move a refund where: a user requests an open refund, support settles a requested one."""

from typing import Literal

from refund_service.domain.eligibility import Status

Action = Literal["request", "approve", "deny"]

_TRANSITIONS: dict[Action, tuple[frozenset[Status], Status]] = {
    "request": (frozenset({"eligible", "needs_review"}), "requested"),
    "approve": (frozenset({"requested"}), "approved"),
    "deny": (frozenset({"requested"}), "denied"),
}


class TransitionRefusedError(Exception):
    """The refund is not in a state the action applies to."""


def next_status(action: Action, current: Status) -> Status:
    allowed, target = _TRANSITIONS[action]
    if current not in allowed:
        raise TransitionRefusedError(f"cannot {action} a refund that is {current}")
    return target
