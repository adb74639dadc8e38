"""Name-based ids are the standard library's version 5 UUIDs, only faster to make: ids stored or
published before keep matching."""

import uuid

from hypothesis import given
from hypothesis import strategies as st

from seevee_shared.ids import name_id


@given(st.uuids(), st.text())
def test_a_name_id_is_the_uuid5_of_its_namespace_and_name(namespace: uuid.UUID, name: str) -> None:
    assert name_id(namespace, name) == str(uuid.uuid5(namespace, name))


def test_a_name_id_is_a_version_5_rfc_4122_uuid() -> None:
    made = uuid.UUID(name_id(uuid.NAMESPACE_URL, "https://seevee.test/bounce/1"))
    assert (made.version, made.variant) == (5, uuid.RFC_4122)
