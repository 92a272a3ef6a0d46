"""Bearer tokens and the role table of API.md.

Each route names the roles it admits through one dependency; the actor recorded in events is
the token's, never something the client sends. Routes are built by `AuthorizedRoute`, which
checks the token before the body is read, so a caller without the right token learns nothing
about what its body would have done (not even that its JSON is malformed).
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from collections.abc import Coroutine
from collections.abc import Iterable
from typing import Any

from fastapi import Depends
from fastapi import Request
from fastapi import Response
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.security import HTTPAuthorizationCredentials
from fastapi.security import HTTPBearer
from fastapi.security.utils import get_authorization_scheme_param

from application.access import Credential
from application.access import Role
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


def authorize(request: Request, roles: frozenset[Role]) -> Credential:
    """The caller's credential if its role is one of `roles`: else 401 or 403."""
    scheme, token = get_authorization_scheme_param(request.headers.get("Authorization"))
    credentials = (
        HTTPAuthorizationCredentials(scheme=scheme, credentials=token) if scheme and token else None
    )
    credential = authenticate(request, credentials)
    if credential.role not in roles:
        names = ", ".join(sorted(r.value for r in roles))
        raise ProblemError(
            "forbidden",
            f"the role {credential.role.value} may not do this (allowed: {names})",
        )
    return credential


def require(*roles: Role) -> Callable[..., Coroutine[Any, Any, Credential]]:
    """A dependency that admits only `roles`: 401 without a known token, 403 for other roles."""
    allowed = frozenset(roles)

    async def dependency(
        request: Request,
        _: HTTPAuthorizationCredentials | None = Depends(bearer),  # noqa: B008 (documents the scheme)
    ) -> Credential:
        return authorize(request, allowed)

    dependency.admits = allowed  # type: ignore[attr-defined]
    return dependency


def admitted_roles(dependant: Dependant) -> list[frozenset[Role]]:
    """The role sets that `require` dependencies of a route (at any depth) admit."""
    found = []
    for sub in dependant.dependencies:
        admits = getattr(sub.call, "admits", None)
        if admits is not None:
            found.append(admits)
        found.extend(admitted_roles(sub))
    return found


class AuthorizedRoute(APIRoute):
    """A route that checks its `require` roles before FastAPI reads and validates the body,
    and names them in its description in the contract."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        role_sets = admitted_roles(self.dependant)
        if role_sets:
            names = ", ".join(sorted(r.value for r in frozenset.intersection(*role_sets)))
            self.description = f"{self.description}\n\nRoles: {names}."

    def get_route_handler(self) -> Callable[[Request], Coroutine[Any, Any, Response]]:
        handle = super().get_route_handler()
        role_sets = admitted_roles(self.dependant)

        async def authorized(request: Request) -> Response:
            for roles in role_sets:
                authorize(request, roles)
            return await handle(request)

        return authorized
