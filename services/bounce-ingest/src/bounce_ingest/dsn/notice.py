"""Bounce notices without a delivery-status part: failed recipients and their diagnostics from the text.

Postfix, Exim, Sendmail, qmail, Exchange, Gmail, Yahoo and most other MTAs write a human notice with
each failed address followed by the remote server's answer; ``markers`` holds the lines they use.
"""

import bisect
import re
from collections.abc import Iterator
from dataclasses import dataclass

from bounce_ingest.dsn.delivery_status import RecipientReport, failure_code, failure_status
from bounce_ingest.dsn.markers import (
    ANY_ADDRESS,
    NOT_A_RECIPIENT,
    ORIGINAL_MESSAGE_START,
    RECIPIENT_LINE,
    REMOTE_HOST,
)

_BLOCK_LIMIT = 1500
NOTICE_LIMIT = 128 * 1024
_SPACES = re.compile(r"\s+")
_RESULT_LINE = re.compile(r">?\.\.\. ")


@dataclass
class Notice:
    """A notice split at the returned original: the human part and the quoted original."""

    text: str
    original: str


def split_notice(text: str) -> Notice:
    """Cut the notice where the copy of the original message starts (notices are short: only the
    first ``NOTICE_LIMIT`` characters are read, which bounds the work on hostile input)."""
    text = text[:NOTICE_LIMIT]
    found = ORIGINAL_MESSAGE_START.search(text)
    if found is None:
        return Notice(text=text, original="")
    return Notice(text=text[: found.start()], original=text[found.start() :])


def failed_recipients(text: str, exclude: set[str]) -> tuple[list[tuple[int, str]], list[tuple[int, str]]]:
    """The recipients a notice names (first position, address, in order) and every mention, repeats
    included (a notice may list the addresses twice, e.g. in two languages)."""
    found: dict[str, int] = {}
    starts: list[tuple[int, str]] = []
    for match in _in_address_lines(RECIPIENT_LINE, text):
        address = next((g for g in match.groups() if g), None)
        if address is None:
            continue
        address = address.strip(".").lower()
        if address in exclude:
            continue
        starts.append((match.start(), address))
        found.setdefault(address, match.start())
    if not found:
        for match in _in_address_lines(ANY_ADDRESS, text):
            address = match[0].strip(".").lower()
            if address in exclude or NOT_A_RECIPIENT.match(address):
                continue
            starts.append((match.start(), address))
            found.setdefault(address, match.start())
    mentions = sorted(((pos, address) for address, pos in found.items()), key=lambda item: item[0])
    return mentions, starts


def _in_address_lines(pattern: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)`` for a pattern that matches an address within one line: only the
    lines with an "@" are scanned, which is most of the work saved on long notices."""
    at = text.find("@")
    while at >= 0:
        start = text.rfind("\n", 0, at) + 1
        end = text.find("\n", at)
        if end < 0:
            end = len(text)
        yield from pattern.finditer(text, start, end)
        at = text.find("@", end)


def notice_reports(text: str, exclude: set[str]) -> list[RecipientReport]:
    """One report per recipient named in the notice, with the text that follows it as diagnostic.

    Where the answer is not after the address (some MTAs state the error first), the text since the
    previous mention supplies the status and reply code.
    """
    mentions, every = failed_recipients(text, exclude)
    reports: list[RecipientReport] = []
    positions = [pos for pos, _ in every]
    for start, address in mentions:
        # A block runs to the next mention of another address (a repeat of its own is part of it).
        following = bisect.bisect_right(positions, start)
        while following < len(every) and every[following][1] == address:
            following += 1
        end = every[following][0] if following < len(every) else len(text)
        end = _result_line_end(text, start, address, end)
        preceding = bisect.bisect_left(positions, start) - 1
        while preceding >= 0 and every[preceding][1] == address:
            preceding -= 1
        previous = every[preceding][0] if preceding >= 0 else 0
        block = _SPACES.sub(" ", text[start : min(end, start + _BLOCK_LIMIT)]).strip()
        before = _SPACES.sub(" ", text[max(previous, start - _BLOCK_LIMIT) : start])
        status = failure_status(block) or failure_status(before)
        code = failure_code(block.replace(address, " ")) or failure_code(before)
        reports.append(
            RecipientReport(
                recipient=address,
                action="failed",
                status=status,
                code=code,
                diagnostic=block,
                remote_mta=remote_host(block) or remote_host(before),
            )
        )
    return reports


def _result_line_end(text: str, start: int, address: str, end: int) -> int:
    """Sendmail's result line (``554 <a@b>... Remote protocol error``) is complete by itself: what
    follows it is about other hosts, so the block stops at its end."""
    found = text[start : start + 400].lower().find(address)
    at = start + found
    if found < 0 or not _RESULT_LINE.match(text, at + len(address)):
        return end
    line_end = text.find("\n", at)
    return end if line_end < 0 else min(end, line_end)


def remote_host(text: str) -> str | None:
    """The remote server a notice names, if any."""
    found = REMOTE_HOST.search(text)
    if found is None:
        return None
    return next((g for g in found.groups() if g), None)


def fold(text: str, limit: int = 1000) -> str:
    """Whitespace folded to single spaces, bounded."""
    return _SPACES.sub(" ", text[: limit * 2]).strip()[:limit]
