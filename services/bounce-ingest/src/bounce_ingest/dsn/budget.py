"""What a raw email may cost before the standard library parses it: a cheap, linear pre-scan.

``email`` parses the whole MIME tree before any depth or part limit of ``anatomy`` can apply, and its
cost grows with lines times open boundaries: 900 nested multiparts in 5 MB took minutes. These
checks read the bytes once (``bytes.count``, one compiled search) and refuse such an email up front.
Real bounce emails stay far inside every limit (a DSN nests two or three containers deep).
"""

import re
from dataclasses import dataclass

_CONTAINER = re.compile(rb"boundary[ \t]*=|content-type:[ \t]*message/", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class EmailBudget:
    max_bytes: int = 5 * 1024 * 1024
    max_header_bytes: int = 256 * 1024
    """The top-level header block (a bounce's own headers are a few KB)."""
    max_lines: int = 200_000
    """A 5 MB returned attachment is about 66,000 base64 lines."""
    max_containers: int = 40
    """Multipart boundaries and attached messages, anywhere in the email."""


class OverBudget(ValueError):
    """The email is larger or more deeply built than any bounce: refused before parsing."""

    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


def check_budget(raw: bytes, budget: EmailBudget = EmailBudget()) -> None:
    """Raise ``OverBudget`` for an email the parser should never be handed."""
    if len(raw) > budget.max_bytes:
        raise OverBudget(f"the email is larger than {budget.max_bytes} bytes")
    window = budget.max_header_bytes + 4
    if len(raw) > window and all(raw.find(end, 0, window) < 0 for end in (b"\n\n", b"\r\n\r\n", b"\r\r")):
        raise OverBudget(f"the email's header block is larger than {budget.max_header_bytes} bytes")
    lines = raw.count(b"\n") + raw.count(b"\r") - raw.count(b"\r\n")
    if lines > budget.max_lines:
        raise OverBudget(f"the email has more than {budget.max_lines} lines")
    for containers, _ in enumerate(_CONTAINER.finditer(raw), start=1):
        if containers > budget.max_containers:
            raise OverBudget(
                f"the email nests more than {budget.max_containers} MIME parts and attached messages"
            )
