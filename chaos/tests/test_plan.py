"""The run's plan: unique addresses, employers that do and do not spike, faults in their places."""

import random
from collections import Counter

from chaos.plan import cast, employer_count, expected_spikes, fault_plan, quiet_employer


def test_every_contact_has_its_own_address_reveal_and_id() -> None:
    people = cast(500, random.Random(1))
    assert len({p.contact.email for p in people}) == 500
    assert len({p.contact.contact_id for p in people}) == 500
    assert len({p.contact.reveal_id for p in people}) == 500


def test_quiet_employers_only_bounce_softly_and_never_spike() -> None:
    people = cast(400, random.Random(2))
    spikes = expected_spikes(people, min_contacts=5, min_rate=0.2)
    domains = sorted({p.contact.employer_domain for p in people})
    quiet = {d for i, d in enumerate(domains) if quiet_employer(i)}

    assert len(domains) == employer_count(400)
    assert quiet and not quiet & spikes
    assert not any(p.hard for p in people if p.contact.employer_domain in quiet)
    assert spikes == set(domains) - quiet


def test_an_employer_below_the_contact_threshold_does_not_spike() -> None:
    people = cast(8, random.Random(3))
    assert expected_spikes(people, min_contacts=5, min_rate=0.2) == set()


def test_each_round_kills_every_service_once_and_the_other_faults_sit_in_the_middle() -> None:
    faults = fault_plan(3, broker=True, db_stop=True, rng=random.Random(4))
    kills = Counter(f.target for f in faults if f.kind == "kill")
    kinds = [f.kind for f in faults]

    assert set(kills.values()) == {3} and len(kills) == 5
    assert kinds.count("broker") == 1 and kinds.count("db-stop") == 1
    assert kinds.index("broker") == 15 // 2
