"""Who is acting: the roles of the service, and a caller's credential."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum


class Role(Enum):
    """What a caller may do (docs/http.md has the table)."""

    REPORTER = "reporter"
    CASEWORKER = "caseworker"
    AUDITOR = "auditor"
    ANALYST = "analyst"
    DPO = "dpo"
    PLATFORM = "platform"


@dataclass(frozen=True)
class Credential:
    """A bearer token, the role it grants, and the actor recorded in the events it causes; a
    platform's token is bound to that platform (its key), and acts as `platform:<key>`."""

    token: str
    role: Role
    actor: str
    platform: str | None = None

    def __repr__(self) -> str:  # never print a token by accident
        return f"Credential(role={self.role.value}, actor={self.actor!r})"
