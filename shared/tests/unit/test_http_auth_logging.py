import time
from datetime import UTC, datetime

import jwt
import pytest
from pydantic import SecretStr

from seevee_shared.auth import (
    DEFAULT_AUDIENCE,
    DEFAULT_ISSUER,
    DEFAULT_MAX_LIFETIME_SECONDS,
    issue_token,
    principal_from_header,
)
from seevee_shared.http import ProblemError, decode_cursor, decode_position, encode_cursor, encode_position
from seevee_shared.logging import mask_email
from seevee_shared.settings import ServiceSettings


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("jane.doe@acme.com", "j***@acme.com"),
        ("to <bob@mail.example.org> failed", "to <b***@mail.example.org> failed"),
        ("no address here", "no address here"),
    ],
)
def test_mask_email(text: str, masked: str) -> None:
    assert mask_email(text) == masked


def test_cursor_round_trip_and_garbage() -> None:
    assert decode_cursor(encode_cursor({"after": "x", "n": 3})) == {"after": "x", "n": 3}
    for garbage in ("!!!", "bm90IGpzb24", "WzFd"):
        with pytest.raises(ProblemError) as caught:
            decode_cursor(garbage)
        assert caught.value.status == 400


def test_token_round_trip_and_failures() -> None:
    header = "Bearer " + issue_token("s3cret-s3cret-s3cret-s3cret-s3cret-42", "u-1", "ws-1", ["support"])
    principal = principal_from_header(header, "s3cret-s3cret-s3cret-s3cret-s3cret-42")
    assert (principal.workspace_id, principal.roles) == ("ws-1", ["support"])
    for bad in (
        None,
        "",
        "Basic abc",
        header + "x",
        "Bearer " + issue_token("other-other-other-other-other-other-42", "u", "w"),
    ):
        with pytest.raises(ProblemError) as caught:
            principal_from_header(bad, "s3cret-s3cret-s3cret-s3cret-s3cret-42")
        assert caught.value.status == 401
    expired = "Bearer " + issue_token("s3cret-s3cret-s3cret-s3cret-s3cret-42", "u", "w", ttl_seconds=-10)
    with pytest.raises(ProblemError):
        principal_from_header(expired, "s3cret-s3cret-s3cret-s3cret-s3cret-42")


def test_positions_round_trip_and_refuse_naive_times() -> None:
    fields = {"time_field": "at", "id_field": "id"}
    at = datetime(2026, 5, 1, 12, tzinfo=UTC)
    assert decode_position(encode_position(at, "r-1", **fields), **fields) == (at, "r-1")
    naive = encode_cursor({"at": "2026-05-01T12:00:00", "id": "r-1"})
    for garbage in (naive, encode_cursor({"at": 3, "id": "r"}), encode_cursor({"id": "r"}), "A" * 5000):
        with pytest.raises(ProblemError) as caught:
            decode_position(garbage, **fields)
        assert caught.value.status == 400


SECRET = "s3cret-s3cret-s3cret-s3cret-s3cret-42"


def _signed(**claims: object) -> str:
    base: dict[str, object] = {
        "sub": "u",
        "workspace_id": "w",
        "roles": [],
        "iss": DEFAULT_ISSUER,
        "aud": DEFAULT_AUDIENCE,
        "exp": int(time.time()) + 600,
    }
    base.update(claims)
    return "Bearer " + jwt.encode({k: v for k, v in base.items() if v is not None}, SECRET, algorithm="HS256")


@pytest.mark.parametrize(
    "claims",
    [
        {"iss": None},
        {"aud": None},
        {"iss": "someone-else"},
        {"aud": "another-api"},
        {"exp": int(time.time()) + 100 * 365 * 86400},
        {"exp": int(time.time()) + DEFAULT_MAX_LIFETIME_SECONDS + 3600},
    ],
)
def test_tokens_need_our_issuer_and_audience_and_a_bounded_lifetime(claims: dict[str, object]) -> None:
    principal_from_header(_signed(), SECRET)
    with pytest.raises(ProblemError) as caught:
        principal_from_header(_signed(**claims), SECRET)
    assert caught.value.status == 401
    assert "Signature" not in str(caught.value.detail), "no library message is echoed"


def test_the_lifetime_and_audience_are_settings() -> None:
    header = _signed(aud="ops", exp=int(time.time()) + 7 * 86400)
    principal = principal_from_header(
        header, SecretStr(SECRET), audience="ops", max_lifetime_seconds=8 * 86400
    )
    assert principal.sub == "u"


def test_the_jwt_secret_never_shows_in_a_settings_repr() -> None:
    settings = ServiceSettings(jwt_secret="a-very-private-signing-key-0123456789")
    assert "a-very-private" not in repr(settings)
    assert "a-very-private" not in str(settings.model_dump())
    assert settings.jwt_secret.get_secret_value().startswith("a-very-private")
