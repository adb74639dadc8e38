"""JWT bearer auth (HS256): who is calling, for which workspace, with which roles.

A token must name our issuer and audience (``SEEVEE_JWT_ISSUER``, ``SEEVEE_JWT_AUDIENCE``) and expire
within ``SEEVEE_JWT_MAX_LIFETIME_SECONDS``: a leaked token with an ``exp`` years out is not a key forever.
``python -m seevee_shared.auth token [--workspace W] [--roles a,b] [--sub S]`` prints a token for local calls.
"""

import argparse
import os
import time
from collections.abc import Awaitable, Callable
from typing import Annotated

import jwt
from fastapi import Depends, Request
from pydantic import BaseModel, ConfigDict, SecretStr, ValidationError

from seevee_shared.http import ProblemError

DEFAULT_ISSUER = "seevee"
DEFAULT_AUDIENCE = "seevee-api"
DEFAULT_MAX_LIFETIME_SECONDS = 86400
LEEWAY_SECONDS = 30
"""Clock skew between the issuer and us, allowed on top of the maximum lifetime."""
_INVALID = (
    "the token is not valid here: it must be signed for this service, name its issuer and audience, "
    "and expire within the allowed lifetime"
)


class Principal(BaseModel):
    """Frozen: one verified token's caller is shared by all its requests."""

    model_config = ConfigDict(frozen=True)

    sub: str
    workspace_id: str
    roles: list[str] = []


def issue_token(
    secret: str,
    sub: str,
    workspace_id: str,
    roles: list[str] | None = None,
    ttl_seconds: int = 3600,
    *,
    issuer: str = DEFAULT_ISSUER,
    audience: str = DEFAULT_AUDIENCE,
) -> str:
    now = int(time.time())
    claims = {
        "sub": sub,
        "workspace_id": workspace_id,
        "roles": roles or [],
        "iss": issuer,
        "aud": audience,
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, "Unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})


_VERIFIED: dict[tuple[str, str, str, str, int], tuple[Principal, float]] = {}
_VERIFIED_MAX = 4096
"""Tokens already verified -> their caller and expiry: a client sends the same token with every request,
and checking its signature and claims again each time is work done once (bounded, oldest dropped)."""


def principal_from_header(
    authorization: str | None,
    secret: str | SecretStr,
    *,
    issuer: str = DEFAULT_ISSUER,
    audience: str = DEFAULT_AUDIENCE,
    max_lifetime_seconds: int = DEFAULT_MAX_LIFETIME_SECONDS,
) -> Principal:
    """The caller of a valid token; every failure is the same 401 (the reason is not the caller's help)."""
    if not authorization or not authorization.lower().startswith("bearer "):
        raise _unauthorized("a bearer token is required")
    key = secret.get_secret_value() if isinstance(secret, SecretStr) else secret
    token = authorization[7:].strip()
    cache_key = (token, key, issuer, audience, max_lifetime_seconds)
    verified = _VERIFIED.get(cache_key)
    if verified is not None:
        if time.time() < verified[1]:
            return verified[0]
        del _VERIFIED[cache_key]
    try:
        claims = jwt.decode(
            token,
            key,
            algorithms=["HS256"],
            issuer=issuer,
            audience=audience,
            options={"require": ["sub", "exp", "iss", "aud"]},
        )
        principal = Principal.model_validate(claims)
    except jwt.ExpiredSignatureError as exc:
        raise _unauthorized("the token has expired") from exc
    except (jwt.PyJWTError, ValidationError) as exc:
        raise _unauthorized(_INVALID) from exc
    if claims["exp"] - time.time() > max_lifetime_seconds + LEEWAY_SECONDS:
        raise _unauthorized(_INVALID)
    if len(_VERIFIED) >= _VERIFIED_MAX:
        del _VERIFIED[next(iter(_VERIFIED))]
    _VERIFIED[cache_key] = (principal, float(claims["exp"]))
    return principal


async def current_principal(request: Request) -> Principal:
    settings = request.app.state.settings
    return principal_from_header(
        request.headers.get("authorization"),
        settings.jwt_secret,
        issuer=settings.jwt_issuer,
        audience=settings.jwt_audience,
        max_lifetime_seconds=settings.jwt_max_lifetime_seconds,
    )


CurrentPrincipal = Annotated[Principal, Depends(current_principal)]


def require_role(role: str) -> Callable[[Principal], Awaitable[Principal]]:
    """A dependency: the caller must hold ``role`` (403 otherwise)."""

    async def check(principal: CurrentPrincipal) -> Principal:
        if role not in principal.roles:
            raise ProblemError(403, "Forbidden", f"this action needs the role {role!r}")
        return principal

    return check


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="make token")
    sub = parser.add_subparsers(dest="command", required=True)
    token = sub.add_parser("token")
    token.add_argument("--workspace", default="ws-demo")
    token.add_argument("--roles", default="user,support,ingest")
    token.add_argument("--sub", default="dev@seevee.local")
    token.add_argument("--ttl", type=int, default=86400)
    args = parser.parse_args(argv)
    secret = os.environ.get("SEEVEE_JWT_SECRET", "dev-secret-change-me")
    roles = [role for role in args.roles.split(",") if role]
    issuer = os.environ.get("SEEVEE_JWT_ISSUER", DEFAULT_ISSUER)
    audience = os.environ.get("SEEVEE_JWT_AUDIENCE", DEFAULT_AUDIENCE)
    print(issue_token(secret, args.sub, args.workspace, roles, args.ttl, issuer=issuer, audience=audience))


if __name__ == "__main__":
    main()
