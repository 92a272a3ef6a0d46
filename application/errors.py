"""The application's errors, which the edges (HTTP, CLI) translate into answers."""

from __future__ import annotations

from uuid import UUID


class ApplicationError(Exception):
    """Base of the errors the application raises on purpose."""


class CaseNotFound(ApplicationError):
    """No such case (or version, or tracking code)."""

    def __init__(self, case_id: UUID | None, detail: str | None = None) -> None:
        super().__init__(detail or f"no case {case_id}")
        self.case_id = case_id


class VersionConflict(ApplicationError):
    """Another command changed the case between loading and saving; nothing was recorded."""

    def __init__(self, case_id: UUID, detail: str | None = None) -> None:
        super().__init__(
            detail
            or f"case {case_id} changed while the command ran; nothing was recorded: reload it"
        )
        self.case_id = case_id


class StaleVersion(VersionConflict):
    """The caller expected a version of the case that is no longer the current one."""

    def __init__(self, case_id: UUID, expected: int, current: int) -> None:
        super().__init__(
            case_id,
            f"case {case_id} is at version {current}, not {expected}; nothing was recorded",
        )
        self.expected = expected
        self.current = current


class IdempotencyKeyReused(ApplicationError):
    """An idempotency key already used for a different report."""

    def __init__(self, key: str) -> None:
        super().__init__(
            f"the Idempotency-Key {key!r} was already used for a different report; "
            "use a new key for a new report"
        )
        self.key = key
