"""Does an address's local part look like it was built from the contact's name?

A revealed address whose local part fits none of the usual corporate patterns (first, last, first.last,
flast, f.last, firstl, lastfirst, first_last, first-last, last.first, lastf, l.first, first.m.last,
fmlast) was probably guessed badly, which is what makes a hard bounce of it refundable. Separators
(``.``, ``_``, ``-``) are interchangeable and optional, digits and plus addressing are ignored, accents
are folded.
"""

import functools
import re
import unicodedata

# Shared mailboxes: they never belong to one person, so they never fit a name.
ROLE_LOCAL_PARTS: frozenset[str] = frozenset(
    {
        "info", "sales", "contact", "contactus", "hello", "admin", "administrator", "office",
        "support", "help", "helpdesk", "service", "services", "customerservice", "team", "marketing",
        "hr", "jobs", "careers", "recruiting", "recruitment", "talent", "billing", "accounts",
        "accounting", "finance", "invoices", "enquiries", "inquiries", "enquiry", "inquiry", "mail",
        "email", "press", "media", "news", "newsletter", "noreply", "donotreply", "webmaster",
        "postmaster", "hostmaster", "abuse", "security", "privacy", "legal", "compliance",
        "orders", "shop", "store", "booking", "bookings", "reception", "general",
        "feedback", "partners", "partnerships", "business", "staff", "everyone",
    }
)  # fmt: skip

# Name particles that addresses often drop ("van der Berg" -> "berg", "vanderberg").
_PARTICLES: frozenset[str] = frozenset(
    {"van", "von", "der", "den", "de", "del", "della", "di", "da", "dos", "das", "du", "la", "le", "ter",
     "ten", "bin", "ibn", "al", "el"}
)  # fmt: skip

# Letters that Unicode decomposition does not reduce to ASCII.
_TRANSLITERATIONS: dict[str, str] = {
    "ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ð": "d", "ł": "l", "þ": "th", "ı": "i",
}  # fmt: skip
# German-style umlaut spellings, tried alongside the plain folding ("Müller" -> "mueller" or "muller").
_UMLAUTS: dict[str, str] = {"ä": "ae", "ö": "oe", "ü": "ue"}

_SEPARATORS = re.compile(r"[._\-'’]")
_NAME_SPLIT = re.compile(r"[\s\-_.]+")
_NOT_LETTER = re.compile(r"[^a-z]")


def fold(text: str) -> str:
    """Lower-case ASCII letters only: accents dropped, special letters transliterated."""
    lowered = text.lower()
    if lowered.isascii():  # most addresses and names: nothing to transliterate or decompose
        return lowered
    transliterated = "".join(_TRANSLITERATIONS.get(char, char) for char in lowered)
    decomposed = unicodedata.normalize("NFKD", transliterated)
    return "".join(char for char in decomposed if not unicodedata.combining(char))


def foldings(text: str) -> set[str]:
    """Every plausible ASCII spelling of a name part."""
    lowered = text.lower()
    umlauted = "".join(_UMLAUTS.get(char, char) for char in lowered)
    return {fold(lowered), fold(umlauted)}


def canonical_local_part(local_part: str) -> str:
    """The letters of a local part: plus tag, separators and digits removed, accents folded."""
    base = local_part.split("+", 1)[0]
    return _NOT_LETTER.sub("", _SEPARATORS.sub("", fold(base)))


def is_role_address(local_part: str) -> bool:
    return canonical_local_part(local_part) in ROLE_LOCAL_PARTS


@functools.lru_cache(maxsize=4096)
def _name_forms(name: str) -> tuple[frozenset[str], frozenset[str]]:
    """(full forms, initials) of one name: the whole compound name and each of its significant parts
    (remembered: the same first and last names come back again and again)."""
    forms: set[str] = set()
    initials: set[str] = set()
    for spelling in foldings(name):
        parts = [_NOT_LETTER.sub("", part) for part in _NAME_SPLIT.split(spelling.replace("'", ""))]
        parts = [part for part in parts if part]
        if not parts:
            continue
        significant = [part for part in parts if part not in _PARTICLES] or parts
        forms.add("".join(parts))
        forms.add("".join(significant))
        forms.update(significant)
        initials.add(parts[0][0])
        initials.update(part[0] for part in significant)
        initials.add("".join(part[0] for part in significant))
        initials.add("".join(part[0] for part in parts))
    return frozenset(forms), frozenset(initials)


def fits_a_pattern(canonical: str, first_name: str, last_name: str) -> bool:
    """Whether a canonical local part (separators already removed) is what one of the usual patterns
    makes of the name: tried cut by cut, without listing every candidate."""
    first, f = _name_forms(first_name)
    last, l_ = _name_forms(last_name)
    if canonical in first or canonical in last:
        return True
    joined = (
        (first, last),  # first.last, firstlast, first_last, first-last
        (last, first),  # last.first, lastfirst
        (f, last),  # flast, f.last
        (first, l_),  # firstl, first.l
        (last, f),  # lastf
        (l_, first),  # l.first
    )
    for cut in range(1, len(canonical)):
        head, tail = canonical[:cut], canonical[cut:]
        if any(head in before and tail in after for before, after in joined):
            return True
        if (head in first or head in f) and tail[1:] in last:  # first.m.last, fmlast: a middle initial
            return True
    return False


def local_part_fits_name(local_part: str, first_name: str, last_name: str) -> bool | None:
    """True if the local part follows a pattern of the name; None when the name gives nothing to compare."""
    if not _name_forms(first_name)[0] and not _name_forms(last_name)[0]:
        return None
    canonical = canonical_local_part(local_part)
    if canonical in ROLE_LOCAL_PARTS:
        return False
    return bool(canonical) and fits_a_pattern(canonical, first_name, last_name)
