"""The advisory keys a poll holds: one per distinct record key, in one order for every poll."""

from seevee_shared.bus.consumer import key_lock_ids


def test_each_distinct_key_is_held_once_and_in_ascending_order() -> None:
    ids = key_lock_ids([b"c-2", b"c-1", None, b"c-2", b"", b"c-3"])
    assert len(ids) == 3
    assert ids == sorted(ids)
    assert all(-(2**31) <= value < 2**31 for value in ids)


def test_the_same_keys_give_the_same_locks_in_any_order() -> None:
    assert key_lock_ids([b"c-1", b"c-9"]) == key_lock_ids([b"c-9", b"c-1"]) != key_lock_ids([b"c-1"])
