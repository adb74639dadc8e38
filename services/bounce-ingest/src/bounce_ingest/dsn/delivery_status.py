"""RFC 3464 ``message/delivery-status`` fields, one report per recipient."""

import re
from dataclasses import dataclass

from bounce_ingest.classification import normalize_status

_ADDRESS = re.compile(
    r"[^\s<>\"'(),;:\[\]@]{1,64}@[a-z0-9][a-z0-9.\-]{0,252}\.[a-z0-9\-]{2,63}", re.IGNORECASE
)
_STATUS_CODE = re.compile(r"^\s*[245]\.\d{1,3}\.\d{1,3}")
_RECIPIENT_FIELDS = ("diagnostic-code", "status", "action", "remote-mta")
_REPLY_CODE = re.compile(r"(?<![\w.\-])([245][0-5]\d)(?![\w.])")
_FAILURE_CODE = re.compile(r"(?<![\w.\-])([45][0-5]\d)(?![\w.])")
_FAILURE_STATUS = re.compile(r"\b[45]\.\d{1,3}\.\d{1,3}\b")


@dataclass
class RecipientReport:
    """What the reporting MTA said about one recipient."""

    recipient: str
    action: str = ""
    status: str | None = None
    code: int | None = None
    diagnostic: str = ""
    remote_mta: str | None = None
    # The reporting MTA's own words after the Status code, e.g. "(mailbox disabled, not accepting ...)".
    status_text: str = ""


def address_in(value: str) -> str | None:
    """The first email address in a field value such as ``rfc822; <a@b.example>``."""
    found = _ADDRESS.search(value)
    return found[0].strip(".").lower() if found else None


def typed_value(value: str) -> str:
    """A field value without its type prefix (``smtp; 550 ...`` -> ``550 ...``)."""
    kind, sep, rest = value.partition(";")
    if sep and len(kind) < 40 and " " not in kind.strip():
        return rest.strip()
    return value.strip()


def reply_code(text: str) -> int | None:
    """The SMTP reply code a diagnostic starts with or quotes."""
    found = _REPLY_CODE.search(text)
    return int(found[1]) if found else None


def failure_code(text: str) -> int | None:
    """The first 4xx/5xx reply code in free text (transcripts quote 2xx/3xx replies too)."""
    found = _FAILURE_CODE.search(text)
    return int(found[1]) if found else None


def failure_status(text: str) -> str | None:
    """The first 4.x.x/5.x.x enhanced status code in free text."""
    found = _FAILURE_STATUS.search(text)
    return normalize_status(found[0]) if found else None


def best_status(field_status: str | None, diagnostic: str) -> str | None:
    """The Status field, unless the diagnostic quotes a more specific code of the same class."""
    quoted = normalize_status(diagnostic)
    if field_status is None:
        return quoted
    if quoted and quoted[0] == field_status[0] and field_status.endswith(".0.0"):
        return quoted
    return field_status


def recipient_reports(blocks: list[dict[str, str]]) -> list[RecipientReport]:
    """Per-recipient reports of a delivery-status body (blocks without a recipient are skipped)."""
    reports: list[RecipientReport] = []
    seen: set[tuple[str, str]] = set()
    remote_default: str | None = None
    stray: dict[str, str] = {}
    for block in blocks:
        recipient = address_in(block.get("final-recipient", "")) or address_in(
            block.get("original-recipient", "")
        )
        if recipient is None:
            remote_default = remote_default or _remote(block)
            # A field block split off its recipient (an unindented continuation line ends a block).
            stray.update({k: v for k, v in block.items() if k in _RECIPIENT_FIELDS})
            continue
        if stray:
            block = {**stray, **block}
            stray = {}
        diagnostic = typed_value(block.get("diagnostic-code", ""))
        status = best_status(normalize_status(block.get("status")), diagnostic)
        action = block.get("action", "").strip().lower().split(" ")[0]
        key = (recipient, action)
        if key in seen:
            continue
        seen.add(key)
        reports.append(
            RecipientReport(
                recipient=recipient,
                action=action,
                status=status,
                code=reply_code(diagnostic) if diagnostic else None,
                diagnostic=diagnostic,
                remote_mta=_remote(block) or remote_default,
                status_text=_STATUS_CODE.sub("", block.get("status", ""), count=1).strip(" ()"),
            )
        )
    return reports


def _remote(block: dict[str, str]) -> str | None:
    value = block.get("remote-mta")
    if not value:
        return None
    remote = typed_value(value).strip("[] ")
    return remote or None
