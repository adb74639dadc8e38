"""JWT bearer auth (HS256): who is calling, for which workspace, with which roles.

``python -m seevee_shared.auth token [--workspace W] [--roles a,b] [--sub S]`` prints a token for local calls.
"""

import argparse
import os
import time
from collections.abc import Awaitable, Callable
from typing import Annotated

import jwt
from fastapi import Depends, Request
from pydantic import BaseModel, ValidationError

from seevee_shared.http import ProblemError


class Principal(BaseModel):
    sub: str
    workspace_id: str
    roles: list[str] = []


def issue_token(
    secret: str, sub: str, workspace_id: str, roles: list[str] | None = None, ttl_seconds: int = 3600
) -> str:
    now = int(time.time())
    claims = {
        "sub": sub,
        "workspace_id": workspace_id,
        "roles": roles or [],
        "iat": now,
        "exp": now + ttl_seconds,
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def _unauthorized(detail: str) -> ProblemError:
    return ProblemError(401, "Unauthorized", detail, headers={"WWW-Authenticate": "Bearer"})


def principal_from_header(authorization: str | None, secret: str) -> Principal:
    if not authorization or not authorization.lower().startswith("bearer "):
        raise _unauthorized("a bearer token is required")
    try:
        claims = jwt.decode(
            authorization[7:].strip(), secret, algorithms=["HS256"], options={"require": ["sub", "exp"]}
        )
        return Principal.model_validate(claims)
    except (jwt.PyJWTError, ValidationError) as exc:
        raise _unauthorized(f"invalid token: {exc}") from exc


async def current_principal(request: Request) -> Principal:
    return principal_from_header(request.headers.get("authorization"), request.app.state.settings.jwt_secret)


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
    print(issue_token(secret, args.sub, args.workspace, roles, args.ttl))


if __name__ == "__main__":
    main()
