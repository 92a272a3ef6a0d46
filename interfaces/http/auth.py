"""Bearer tokens and the role table of API.md.

Each route names the roles it admits through one dependency; the actor recorded in events is
the token's, never something the client sends.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterable

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from application.access import Credential, Role
from interfaces.http.problems import ProblemError

bearer = HTTPBearer(auto_error=False, description="A token from MEDIATION_TOKENS")

_CHALLENGE = {"WWW-Authenticate": 'Bearer realm="p2b-mediation"'}


def authenticate(request: Request, credentials: HTTPAuthorizationCredentials | None) -> Credential:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise ProblemError(
            "unauthenticated", "send Authorization: Bearer <token>", headers=_CHALLENGE
        )
    presented = credentials.credentials.encode()
    known: Iterable[Credential] = request.app.state.credentials
    match = None
    for credential in known:
        # Compare every token in constant time, so timing says nothing about near misses.
        if hmac.compare_digest(presented, credential.token.encode()):
            match = credential
    if match is None:
        raise ProblemError("unauthenticated", "unknown token", headers=_CHALLENGE)
    return match


def require(*roles: Role) -> Callable[..., Credential]:
    """A dependency that admits only `roles`: 401 without a known token, 403 for other roles."""

    allowed = frozenset(roles)
    names = ", ".join(r.value for r in roles)

    def dependency(
        request: Request,
        credentials: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008
    ) -> Credential:
        credential = authenticate(request, credentials)
        if credential.role not in allowed:
            raise ProblemError(
                "forbidden",
                f"the role {credential.role.value} may not do this (allowed: {names})",
            )
        return credential

    return dependency
