"""Is a bounced, revealed address worth a credit refund? One assessment per bounce, the strongest kept."""

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal

from refund_service.domain.name_patterns import local_part_fits_name

Status = Literal["eligible", "needs_review", "ineligible", "requested", "approved", "denied"]
Basis = Literal[
    "dead_domain", "name_mismatch", "mailbox_unknown", "temporary", "spam_policy", "outside_window"
]

# Reasons that already say the domain itself takes no mail (RFC 7505 null MX answers with notaccept).
DEAD_DOMAIN_REASONS: frozenset[str] = frozenset({"hostunknown", "notaccept"})

# The strongest basis wins when several bounces hit one reveal: an eligible basis beats needs_review,
# which beats every ineligible basis. Among ineligible ones a bounce that came too late beats a policy
# block, which beats a temporary failure: the later ones say least about the address itself.
BASIS_STRENGTH: dict[Basis, int] = {
    "dead_domain": 6,
    "name_mismatch": 5,
    "mailbox_unknown": 4,
    "outside_window": 3,
    "spam_policy": 2,
    "temporary": 1,
}
BASIS_STATUS: dict[Basis, Status] = {
    "dead_domain": "eligible",
    "name_mismatch": "eligible",
    "mailbox_unknown": "needs_review",
    "outside_window": "ineligible",
    "spam_policy": "ineligible",
    "temporary": "ineligible",
}
# Once a person has acted on a refund, later bounces no longer change it.
SETTLED_STATUSES: frozenset[Status] = frozenset({"requested", "approved", "denied"})


@dataclass(frozen=True)
class Reveal:
    email: str
    first_name: str
    last_name: str
    revealed_at: datetime


@dataclass(frozen=True)
class Bounce:
    recipient: str
    category: str
    reason: str
    bounced_at: datetime


@dataclass(frozen=True)
class Assessment:
    status: Status
    basis: Basis
    explanation: str


def domain_of(address: str) -> str:
    return address.rsplit("@", 1)[-1].strip().lower().rstrip(".")


def local_part_of(address: str) -> str:
    return address.rsplit("@", 1)[0] if "@" in address else address


def is_within_window(revealed_at: datetime, bounced_at: datetime, window_days: int) -> bool:
    """A bounce counts for the reveal up to window_days after it (a bounce dated before it counts too)."""
    return bounced_at - revealed_at <= timedelta(days=window_days)


def is_dead_domain(reason: str, has_mail_host: bool | None) -> bool:
    """Dead by the bounce's own reason, or because DNS has no MX/A for it; unknown DNS never kills it."""
    return reason in DEAD_DOMAIN_REASONS or has_mail_host is False


def needs_dns_check(reveal: Reveal, bounce: Bounce, window_days: int) -> bool:
    """Only a hard bounce inside the window whose reason does not already settle it is worth a lookup."""
    return (
        bounce.category == "mailbox_unknown"
        and bounce.reason not in DEAD_DOMAIN_REASONS
        and is_within_window(reveal.revealed_at, bounce.bounced_at, window_days)
    )


def assess(reveal: Reveal, bounce: Bounce, has_mail_host: bool | None, window_days: int) -> Assessment:
    """The refund status and basis one bounce gives a reveal, with the reason in words."""
    if not is_within_window(reveal.revealed_at, bounce.bounced_at, window_days):
        age = (bounce.bounced_at - reveal.revealed_at).days
        return Assessment(
            "ineligible",
            "outside_window",
            f"The address bounced {age} days after the reveal; "
            f"refunds cover bounces within {window_days} days of it.",
        )
    if bounce.category == "temporary":
        return Assessment(
            "ineligible",
            "temporary",
            f"The bounce was temporary ({bounce.reason}): the address may still work.",
        )
    if bounce.category == "spam_policy":
        return Assessment(
            "ineligible",
            "spam_policy",
            f"The employer's filters rejected the message ({bounce.reason}); the address itself exists.",
        )
    domain = domain_of(reveal.email)
    if is_dead_domain(bounce.reason, has_mail_host):
        why = (
            f"the bounce says {bounce.reason}"
            if bounce.reason in DEAD_DOMAIN_REASONS
            else "DNS has no MX or A record"
        )
        return Assessment("eligible", "dead_domain", f"The domain {domain} takes no mail: {why}.")
    local_part = local_part_of(reveal.email)
    if local_part_fits_name(local_part, reveal.first_name, reveal.last_name) is False:
        return Assessment(
            "eligible",
            "name_mismatch",
            f"The address does not exist ({bounce.reason}) and '{local_part}' fits none of the name patterns "
            f"of {reveal.first_name} {reveal.last_name}.".replace("  ", " "),
        )
    return Assessment(
        "needs_review",
        "mailbox_unknown",
        f"The address does not exist ({bounce.reason}) but fits the contact's name: "
        "the person may have left the company.",
    )


def merge(
    current_status: Status | None, current_basis: Basis | None, candidate: Assessment
) -> Assessment | None:
    """The assessment a refund record should take now, or None when it stays as it is."""
    if current_status is None or current_basis is None:
        return candidate
    if current_status in SETTLED_STATUSES:
        return None
    if BASIS_STRENGTH[candidate.basis] > BASIS_STRENGTH[current_basis]:
        return candidate
    return None
