"""Which local parts fit a contact's name (and so are not refundable as name mismatches)."""

import string

import pytest
from hypothesis import assume, given
from hypothesis import strategies as st

from refund_service.domain.name_patterns import (
    ROLE_LOCAL_PARTS,
    _name_forms,
    canonical_local_part,
    fits_a_pattern,
    is_role_address,
    local_part_fits_name,
)

FITS = [
    # (local part, first name, last name)
    ("john", "John", "Smith"),
    ("smith", "John", "Smith"),
    ("john.smith", "John", "Smith"),
    ("johnsmith", "John", "Smith"),
    ("jsmith", "John", "Smith"),
    ("j.smith", "John", "Smith"),
    ("johns", "John", "Smith"),
    ("smithjohn", "John", "Smith"),
    ("john_smith", "John", "Smith"),
    ("john-smith", "John", "Smith"),
    ("smith.john", "John", "Smith"),
    ("smithj", "John", "Smith"),
    ("s.john", "John", "Smith"),
    ("john.q.smith", "John", "Smith"),
    ("jqsmith", "John", "Smith"),
    ("John.Smith", "john", "SMITH"),
    # accents folded, special letters transliterated, umlauts either way
    ("jose.garcia", "José", "García"),
    ("francois.lefevre", "François", "Lefèvre"),
    ("mueller", "Jörg", "Müller"),
    ("joerg.muller", "Jörg", "Müller"),
    ("lukasz.wozniak", "Łukasz", "Woźniak"),
    ("soren.ostergaard", "Søren", "Østergaard"),
    ("strasse", "Anna", "Straße"),
    # hyphenated and compound names
    ("jean-pierre.dupont", "Jean-Pierre", "Dupont"),
    ("jeanpierre.dupont", "Jean-Pierre", "Dupont"),
    ("jpdupont", "Jean-Pierre", "Dupont"),
    ("pierre.dupont", "Jean-Pierre", "Dupont"),
    ("anna.smith-jones", "Anna", "Smith-Jones"),
    ("anna.jones", "Anna", "Smith-Jones"),
    ("asmithjones", "Anna", "Smith Jones"),
    ("gabriel.garciamarquez", "Gabriel", "García Márquez"),
    ("pieter.vanderberg", "Pieter", "van der Berg"),
    ("pieter.berg", "Pieter", "van der Berg"),
    ("pberg", "Pieter", "van der Berg"),
    ("sean.obrien", "Seán", "O'Brien"),
    ("maryann.lee", "Mary Ann", "Lee"),
    # initials as names
    ("j.r.tolkien", "J. R.", "Tolkien"),
    ("jtolkien", "J.", "Tolkien"),
    # digits and plus addressing ignored
    ("john.smith2", "John", "Smith"),
    ("jsmith1985", "John", "Smith"),
    ("john.smith+outreach", "John", "Smith"),
    ("j.smith+1", "John", "Smith"),
    # only one name known
    ("madonna", "Madonna", ""),
]

MISMATCHES = [
    ("jane.doe", "John", "Smith"),
    ("jdoe", "John", "Smith"),
    ("johnny", "John", "Smith"),
    ("smi", "John", "Smith"),
    ("xsmith", "John", "Smith"),
    ("john.smithson", "John", "Smith"),
    ("john.qq.smith", "John", "Smith"),
    ("12345", "John", "Smith"),
    ("+john", "John", "Smith"),
    # role addresses never fit, whatever the name
    ("info", "Info", "Smith"),
    ("sales", "John", "Sales"),
    ("contact", "John", "Smith"),
    ("no-reply", "John", "Smith"),
    ("support+eu", "John", "Smith"),
    ("hr", "Hans", "Richter"),
]


@pytest.mark.parametrize(("local_part", "first", "last"), FITS)
def test_fits(local_part: str, first: str, last: str) -> None:
    assert local_part_fits_name(local_part, first, last) is True


@pytest.mark.parametrize(("local_part", "first", "last"), MISMATCHES)
def test_mismatch(local_part: str, first: str, last: str) -> None:
    assert local_part_fits_name(local_part, first, last) is False


@pytest.mark.parametrize(("first", "last"), [("", ""), ("  ", "-"), ("123", "")])
def test_no_usable_name_cannot_be_judged(first: str, last: str) -> None:
    assert local_part_fits_name("john.smith", first, last) is None


@pytest.mark.parametrize(
    ("local_part", "canonical"),
    [
        ("John.Smith+news", "johnsmith"),
        ("j_o-h.n", "john"),
        ("josé99", "jose"),
        ("o'brien", "obrien"),
        ("", ""),
    ],
)
def test_canonical_local_part(local_part: str, canonical: str) -> None:
    assert canonical_local_part(local_part) == canonical


@pytest.mark.parametrize(
    ("local_part", "role"),
    [
        ("info", True),
        ("Sales", True),
        ("no-reply", True),
        ("contact+x", True),
        ("john", False),
        ("infos", False),
    ],
)
def test_role_address(local_part: str, role: bool) -> None:
    assert is_role_address(local_part) is role


LETTERS = st.text(alphabet=string.ascii_lowercase, min_size=2, max_size=12)


@given(
    first=LETTERS,
    last=LETTERS,
    pattern=st.sampled_from(["{f}.{l}", "{f0}{l}", "{l}{f}", "{f}_{l}", "{l}-{f0}"]),
)
def test_every_generated_pattern_fits_its_name(first: str, last: str, pattern: str) -> None:
    local_part = pattern.format(f=first, l=last, f0=first[0])
    assume(canonical_local_part(local_part) not in ROLE_LOCAL_PARTS)
    assert local_part_fits_name(local_part, first.title(), last.title()) is True


@given(local_part=st.text(max_size=80), first=st.text(max_size=40), last=st.text(max_size=40))
def test_any_text_gets_an_answer(local_part: str, first: str, last: str) -> None:
    assert local_part_fits_name(local_part, first, last) in (True, False, None)


def every_candidate(first_name: str, last_name: str) -> set[str]:
    """The patterns written out: every canonical local part they make of the name."""
    first, f = _name_forms(first_name)
    last, l_ = _name_forms(last_name)
    pairs = [(first, last), (last, first), (f, last), (first, l_), (last, f), (l_, first)]
    found = set(first | last)
    found |= {a + b for before, after in pairs for a in before for b in after}
    found |= {a + m + b for a in first | f for m in string.ascii_lowercase for b in last}
    return found


NAMES = st.sampled_from(
    ["John", "Smith", "Jean-Luc", "van der Berg", "Müller", "Ørsted", "O'Neil", "Li", "A"]
)


PIECES = ["j", "jo", "john", "smith", "s", "x", "m", "jeanluc", "luc", "berg", "vanderberg", "vdb"]
PIECES += ["mueller", "muller", "orsted", "oneil", "li", "a"]


@given(first=NAMES, last=NAMES, pieces=st.lists(st.sampled_from(PIECES), min_size=1, max_size=3))
def test_a_local_part_fits_exactly_when_a_pattern_makes_it(first: str, last: str, pieces: list[str]) -> None:
    canonical = "".join(pieces)
    assert fits_a_pattern(canonical, first, last) is (canonical in every_candidate(first, last))
