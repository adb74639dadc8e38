"""The demo's cast: the share that bounces, the mix of scenarios, and addresses that fit or don't."""

import random
from collections import Counter
from datetime import UTC, datetime

import pytest

from sandbox.bounce_payloads import BounceKind
from sandbox.contacts import (
    BOUNCE_SCENARIOS,
    DEAD_EMPLOYERS,
    DELIVERED,
    ROLE_ADDRESSES,
    address_for,
    cast,
    fold,
    revealed_event,
    scenarios,
)
from seevee_shared.events import ContactRevealed


@pytest.mark.parametrize(
    ("count", "share", "bounced"),
    [(10, 0.4, 4), (12, 0.4, 5), (3, 0.1, 1), (5, 0.0, 0), (4, 1.0, 4), (1, 0.5, 1)],
)
def test_the_share_of_contacts_that_bounce(count: int, share: float, bounced: int) -> None:
    planned = scenarios(count, share)
    assert len(planned) == count
    assert sum(s is not DELIVERED for s in planned) == bounced


def test_five_bounces_show_every_scenario_once() -> None:
    assert Counter(scenarios(5, 1.0)) == Counter(BOUNCE_SCENARIOS)
    assert {s.bounce for s in BOUNCE_SCENARIOS} == set(BounceKind)


@pytest.mark.parametrize(
    ("name", "folded"),
    [
        ("José", "jose"),
        ("Zoë", "zoe"),
        ("O'Brien", "obrien"),
        ("Søndergaard", "sondergaard"),
        ("Núñez", "nunez"),
    ],
)
def test_names_fold_as_people_type_them(name: str, folded: str) -> None:
    assert fold(name) == folded


def test_a_fitting_address_is_built_from_the_name() -> None:
    rng = random.Random(5)
    for _ in range(50):
        local = address_for("Zoë", "Müller", True, "acme.example", rng).split("@")[0]
        assert local in {"zoe.muller", "zmuller", "z.muller", "zoe"}


def test_an_address_that_does_not_fit_is_a_role_or_someone_else() -> None:
    rng = random.Random(6)
    for _ in range(50):
        local = address_for("Lena", "Fischer", False, "acme.example", rng).split("@")[0]
        assert local in ROLE_ADDRESSES or ("lena" not in local and "fischer" not in local and "." in local)


def test_the_cast_follows_its_scenarios() -> None:
    contacts = cast(40, 0.5, random.Random(7))
    dead_domains = {domain for _, domain in DEAD_EMPLOYERS}

    assert len({c.email for c in contacts}) == len(contacts)
    assert len({c.contact_id for c in contacts} | {c.reveal_id for c in contacts}) == 2 * len(contacts)
    for contact in contacts:
        local, domain = contact.email.split("@")
        assert domain == contact.employer_domain
        assert (domain in dead_domains) == (contact.scenario.bounce is BounceKind.DEAD_DOMAIN)
        if contact.scenario.address_fits_name:
            assert local.split(".")[-1] in {fold(contact.first_name), fold(contact.last_name)} | {
                fold(contact.first_name)[0] + fold(contact.last_name)
            }


def test_a_seed_fixes_the_story_but_never_the_ids() -> None:
    first, second = cast(8, 0.5, random.Random(9)), cast(8, 0.5, random.Random(9))

    assert [(c.email, c.scenario) for c in first] == [(c.email, c.scenario) for c in second]
    assert not {c.contact_id for c in first} & {c.contact_id for c in second}


def test_the_reveal_event_is_the_contract() -> None:
    contact = cast(1, 1.0, random.Random(10))[0]
    at = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
    event = revealed_event(contact, "ws-demo", at)
    data = event.data_as(ContactRevealed)

    assert (event.type, event.workspaceid, event.key) == (
        "contact.revealed",
        "ws-demo",
        contact.contact_id.encode(),
    )
    assert (data.email, data.first_name, data.last_name) == (
        contact.email,
        contact.first_name,
        contact.last_name,
    )
    assert (data.employer_domain, data.revealed_at, data.credits) == (contact.employer_domain, at, 1)
