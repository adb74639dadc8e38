"""The classifier's evidence tables, read once from ``evidence.toml`` (package data) and compiled.

The data file holds what status codes, reply codes, SMTP commands and diagnostic phrases mean; this
module only gives it types. Nothing here decides anything: ``bounce_ingest.classification`` does.
"""

import re
import tomllib
from dataclasses import dataclass
from importlib import resources
from typing import Any

_DATA: dict[str, Any] = tomllib.loads(
    resources.files("bounce_ingest.dsn").joinpath("evidence.toml").read_text(encoding="utf-8")
)


@dataclass(frozen=True, slots=True)
class StatusMeaning:
    """What one enhanced status code says: its reason, and how far text may change it."""

    reason: str
    exact: bool = False
    yields: frozenset[str] = frozenset()
    remap: tuple[tuple[str, str], ...] = ()


def _status_table(raw: dict[str, dict[str, Any]]) -> dict[str, StatusMeaning]:
    """Keys "X.Y.Z" expand to both classes; an explicit "4.Y.Z"/"5.Y.Z" key wins over its X form."""
    table: dict[str, StatusMeaning] = {}
    for key, entry in sorted(raw.items(), key=lambda item: not item[0].startswith("X.")):
        meaning = StatusMeaning(
            reason=entry["reason"],
            exact=bool(entry.get("exact", False)),
            yields=frozenset(entry.get("yields", ())),
            remap=tuple(sorted(entry.get("remap", {}).items())),
        )
        for klass in ("4", "5") if key.startswith("X.") else (key[0],):
            table[klass + key[1:]] = meaning
    return table


STATUS_MEANINGS: dict[str, StatusMeaning] = _status_table(_DATA["status"])
"""Enhanced status code (``5.1.1``) -> its meaning."""

REPLY_REASONS: dict[int, str] = {int(code): reason for code, reason in _DATA["reply"].items()}
"""SMTP reply code -> the reason it names when no status code does."""

COMMAND_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (command, re.compile(pattern)) for command, pattern in _DATA["command"].items()
)
"""How notices quote the SMTP command a reply answered (DATA, RCPT, MAIL, CONN)."""

COMMAND_REFINEMENTS: dict[str, dict[str, str]] = dict(_DATA["command_refine"])
"""command -> {reason read elsewhere, or "*" for none -> reason at that command}."""

BOILERPLATE = re.compile("|".join(_DATA["boilerplate"]["patterns"]))
"""Mailer wrapper text that names no reason."""

PROVIDER_CODES: tuple[tuple[re.Pattern[str], tuple[tuple[int, int, str], ...]], ...] = tuple(
    (re.compile(entry["pattern"]), tuple((int(a), int(b), str(r)) for a, b, r in entry["ranges"]))
    for entry in _DATA["provider_code"]
)
"""Providers' numbered error codes: (pattern with the number as group 1, ((first, last, reason), ...))."""

CONFIRMED_USER = re.compile("|".join(_DATA["userunknown"]["confirmed"]))
"""Wording that names the mailbox as missing, whatever the command or status code."""

DOMAIN_REASONS: dict[str, str] = dict(_DATA["recipient_domain"])
"""Recipient domain -> the reason its failures always mean."""

PHRASES: tuple[tuple[str, re.Pattern[str]], ...] = tuple(
    (entry["reason"], re.compile(pattern)) for entry in _DATA["phrase"] for pattern in entry["patterns"]
)
"""(reason, pattern) in table order. One pattern per phrase keeps the engine's literal-prefix search."""
