"""The domain's errors: a small family that callers translate, never inspect by message."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING
from uuid import UUID

if TYPE_CHECKING:  # domain.values imports this module (InvalidValue)
    from domain.values import AllowedCommand


class DomainError(Exception):
    """Base of every error the domain raises on purpose."""


class InvalidValue(DomainError, ValueError):
    """A value that breaks a rule of the domain (a bad SIREN, a date in the future…).

    It subclasses ValueError so that validation layers (pydantic) report it as a field error.
    """

    def __init__(self, field: str, message: str, *, where: str = "body") -> None:
        super().__init__(message)
        self.field = field
        self.message = message
        self.where = where  # where the value came from: "body", "query"…


class CaseError(DomainError):
    """An error about one case, carrying its id and status."""

    def __init__(self, message: str, *, case_id: UUID, status: str) -> None:
        super().__init__(message)
        self.case_id = case_id
        self.status = status


class CommandNotAllowed(CaseError):
    """The case's status does not allow the command; nothing was recorded. `allowed` are the
    commands it does allow (their text names each one, for the message)."""

    def __init__(
        self, *, case_id: UUID, status: str, command: str, allowed: Sequence[AllowedCommand]
    ) -> None:
        allowed_text = ", ".join(map(str, allowed)) if allowed else "nothing (the case is closed)"
        super().__init__(
            f"cannot {command} a case that is {status}; allowed: {allowed_text}",
            case_id=case_id,
            status=status,
        )
        self.command = command
        self.allowed = tuple(allowed)


class InvalidCaseCommand(CaseError):
    """The command is allowed in this status, but its data breaks a rule given the case's state
    (for example an answer dated before the case was sent to the platform)."""

    def __init__(self, message: str, *, case_id: UUID, status: str, field: str) -> None:
        super().__init__(message, case_id=case_id, status=status)
        self.field = field


class PersonalDataErasedError(CaseError):
    """The case's personal data was erased: it takes no new personal data or free text."""

    def __init__(self, *, case_id: UUID, status: str, command: str) -> None:
        super().__init__(
            f"cannot {command}: the personal data of this case was erased, and {command} "
            "would record new personal data or free text",
            case_id=case_id,
            status=status,
        )
        self.command = command
