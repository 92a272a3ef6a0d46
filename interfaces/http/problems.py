"""Errors as application/problem+json (RFC 9457): one table from errors to answers.

Routes never catch; every error the application or the store raises is answered here, and a
5xx never carries a stack trace, a SQL statement or a secret.
"""

from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any
from typing import Literal
from uuid import UUID

import psycopg
from eventsourcing.persistence import PersistenceError
from fastapi import FastAPI
from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from pydantic import ConfigDict
from pydantic import Field
from starlette.exceptions import HTTPException as StarletteHTTPException

from application.errors import CaseNotFound
from application.errors import IdempotencyKeyReused
from application.errors import StaleVersion
from application.errors import VersionConflict
from application.personal_data import PersonalDataUnreadable
from application.sealing import IntegrityFailure
from domain.errors import CommandNotAllowed
from domain.errors import InvalidCaseCommand
from domain.errors import InvalidValue
from domain.errors import PersonalDataErasedError
from domain.values import Status
from interfaces.http.labels import request_labels
from interfaces.http.schemas import AllowedCommandView

log = logging.getLogger("mediation.http")

PROBLEM_JSON = "application/problem+json"
RETRY_AFTER_SECONDS = 5

STORE_ERRORS: tuple[type[Exception], ...] = (
    # The library's (OperationalError, InterfaceError, …), which wrap the drivers' errors.
    PersistenceError,
    # The drivers' own, raised where the library does not wrap them (SQLite's BEGIN and
    # connection set-up). psycopg_pool's PoolTimeout is a psycopg.OperationalError.
    psycopg.OperationalError,
    psycopg.InterfaceError,
    sqlite3.OperationalError,
    sqlite3.InterfaceError,
)
"""Store failures: each is a 503 with Retry-After, never a 500."""


@dataclass(frozen=True)
class ProblemType:
    slug: str
    title: str
    status: int
    description: str
    example: dict[str, Any] = field(default_factory=dict)
    """The detail, and the members beyond the five, of a typical answer (for /openapi.json)."""

    @property
    def uri(self) -> str:
        return f"/problems/{self.slug}"

    def example_body(self) -> dict[str, Any]:
        return {"type": self.uri, "title": self.title, "status": self.status, **self.example}


PROBLEM_TYPES: dict[str, ProblemType] = {
    p.slug: p
    for p in (
        ProblemType(
            "unauthenticated",
            "Authentication required",
            401,
            "Send Authorization: Bearer <token> with a token the service knows.",
            {"detail": "unknown token"},
        ),
        ProblemType(
            "forbidden",
            "Not allowed for your role",
            403,
            "Your token's role may not use this endpoint (see the role table).",
            {"detail": "the role analyst may not do this (allowed: caseworker)"},
        ),
        ProblemType(
            "not-found",
            "Not found",
            404,
            "No such case, version or resource.",
            {"detail": "no case 0b7e3a4c-5d1f-4e8a-9c2b-6f1d2e3a4b5c"},
        ),
        ProblemType(
            "method-not-allowed",
            "Method not allowed",
            405,
            "This path does not take this method.",
            {"detail": "Method Not Allowed"},
        ),
        ProblemType(
            "command-not-allowed",
            "Command not allowed in this status",
            409,
            "The case's status does not allow this command; `allowed` lists those "
            "it does. Nothing was recorded.",
            {
                "detail": "escalate is not allowed while the case is reported",
                "current_status": "reported",
                "allowed": [
                    {"command": "qualify"},
                    {"command": "resolve", "outcomes": ["inadmissible", "withdrawn"]},
                ],
            },
        ),
        ProblemType(
            "version-conflict",
            "The case changed meanwhile",
            409,
            "Another command changed the case while yours ran; nothing was recorded. "
            "Reload the case and decide again.",
            {"detail": "the case changed while this command ran; reload it and decide again"},
        ),
        ProblemType(
            "precondition-failed",
            "The case has moved on",
            412,
            "If-Match named a version that is no longer the case's current one; "
            "nothing was recorded.",
            {"detail": "the case is at version 3, not 2", "current_version": 3},
        ),
        ProblemType(
            "integrity-failure",
            "The case's stored history fails verification",
            409,
            "The stored events or snapshots of this case do not match their seals, or events "
            "seen by the latest checkpoint are gone: the case is not served as if intact. "
            "The log names the case and version; an auditor's GET /cases/{id}/integrity "
            "says what was found.",
            {
                "detail": "the stored history of the case fails verification at version 2",
                "case_id": "0b7e3a4c-5d1f-4e8a-9c2b-6f1d2e3a4b5c",
                "version": 2,
            },
        ),
        ProblemType(
            "personal-data-erased",
            "The case's personal data was erased",
            409,
            "The case takes no new personal data or free text after its erasure: send the "
            "command again without its free text (summary, message, response, note).",
            {
                "detail": "the case's personal data was erased: send no summary",
                "current_status": "qualified",
            },
        ),
        ProblemType(
            "invalid-request",
            "Invalid request",
            422,
            "The body, query or a header is invalid; `errors` names each failing "
            "field. Nothing was recorded.",
            {
                "detail": "company.siren: 732829321 is not a valid SIREN number (checksum)",
                "errors": [
                    {
                        "field": "company.siren",
                        "in": "body",
                        "message": "732829321 is not a valid SIREN number (checksum)",
                    }
                ],
            },
        ),
        ProblemType(
            "payload-too-large",
            "Request body too large",
            413,
            "The request body is larger than the service accepts (MEDIATION_MAX_BODY_BYTES); "
            "it was refused without being read past that size, and nothing was recorded.",
            {"detail": "the request body is over the limit of 1048576 bytes; nothing was recorded"},
        ),
        ProblemType(
            "idempotency-key-reused",
            "Idempotency key already used",
            422,
            "The Idempotency-Key was first used with a different report.",
            {"detail": "this Idempotency-Key was first used with another report"},
        ),
        ProblemType(
            "read-model-behind",
            "The read models are behind",
            503,
            "The read models have not yet reached the position asked for with min_position; "
            "retry after the delay in Retry-After.",
            {"detail": "the read models have not reached position 42 yet; retry shortly"},
        ),
        ProblemType(
            "store-unavailable",
            "Case store unavailable",
            503,
            "The database cannot be reached. Retry later: a command sent again with "
            "If-Match or Idempotency-Key cannot be recorded twice.",
            {"detail": "the case store cannot be reached; retry later"},
        ),
        ProblemType(
            "internal-error",
            "Internal error",
            500,
            "An unexpected error; it was logged with its details.",
            {"detail": "an unexpected error occurred; it was logged"},
        ),
    )
}


class FieldError(BaseModel):
    """One value of the request that cannot be read or breaks a rule."""

    model_config = ConfigDict(populate_by_name=True)

    field: str = Field(
        description="the value: a dotted path in the body (`company.siren`), or the name of a "
        "query parameter, path parameter or header"
    )
    where: Literal["body", "query", "path", "header"] = Field(
        alias="in", description="where the value was"
    )
    message: str = Field(description="what is wrong with it, in words")


class Problem(BaseModel):
    """An error, as application/problem+json (RFC 9457). Members beyond the five are there
    when they help: `errors` (422), `current_status` and `allowed` (409 command-not-allowed),
    `current_version` (412), `case_id` and `version` (409 integrity-failure)."""

    type: str = Field(
        description="the problem's type: a path under /problems/ whose page explains it",
        examples=["/problems/invalid-request"],
    )
    title: str = Field(description="the type's title, the same for every answer of the type")
    status: int = Field(ge=400, le=599, description="the HTTP status, repeated")
    detail: str = Field(description="what happened to this request, in words")
    errors: list[FieldError] | None = Field(
        default=None, description="each value that cannot be read or breaks a rule"
    )
    current_status: Status | None = Field(default=None, description="the case's status")
    allowed: list[AllowedCommandView] | None = Field(
        default=None, description="the commands the case's status allows"
    )
    current_version: int | None = Field(default=None, description="the case's version now")
    case_id: UUID | None = Field(default=None, description="the case whose history fails")
    version: int | None = Field(default=None, description="the first version that fails")


PROBLEM_SCHEMA = "#/components/schemas/Problem"

PROBLEM_HEADERS: dict[int, dict[str, str]] = {
    401: {"WWW-Authenticate": 'the scheme to authenticate with: `Bearer realm="p2b-mediation"`'},
    503: {"Retry-After": "seconds to wait before trying again"},
}
"""Headers that every answer of a status carries."""

# The problem types a kind of route can answer; a route names its own with answers(...).
SIGNED_IN = ("unauthenticated", "forbidden")
READ = (*SIGNED_IN, "invalid-request", "store-unavailable")
READ_MODEL = (*READ, "read-model-behind")
CASE_READ = (*READ, "not-found", "integrity-failure")
REPORT = (*READ, "idempotency-key-reused", "version-conflict", "payload-too-large")
COMMAND = (
    *CASE_READ,
    "command-not-allowed",
    "version-conflict",
    "personal-data-erased",
    "precondition-failed",
    "payload-too-large",
)


def header_docs(headers: dict[str, str]) -> dict[str, Any]:
    """The `headers` of a documented answer: each always sent, a string, described."""
    if not headers:
        return {}
    return {
        "headers": {
            name: {"description": text, "required": True, "schema": {"type": "string"}}
            for name, text in headers.items()
        }
    }


def answers(*slugs: str) -> dict[int | str, dict[str, Any]]:
    """A route's `responses=`: for each status its problem types answer, the Problem schema,
    the headers that status carries, and one example per type."""
    by_status: dict[int, list[ProblemType]] = {}
    for slug in dict.fromkeys(slugs):
        kind = PROBLEM_TYPES[slug]
        by_status.setdefault(kind.status, []).append(kind)
    return {status: _documented(kinds) for status, kinds in sorted(by_status.items())}


def _documented(kinds: list[ProblemType]) -> dict[str, Any]:
    status = kinds[0].status
    return {
        "description": " ".join(f"`{k.uri}`: {k.description}" for k in kinds),
        **header_docs(PROBLEM_HEADERS.get(status, {})),
        "content": {
            PROBLEM_JSON: {
                "schema": {"$ref": PROBLEM_SCHEMA},
                "examples": {
                    k.slug: {"summary": k.title, "value": k.example_body()} for k in kinds
                },
            }
        },
    }


def problem_response(
    slug: str,
    detail: str,
    *,
    status: int | None = None,
    headers: dict[str, str] | None = None,
    **extra: Any,
) -> JSONResponse:
    kind = PROBLEM_TYPES[slug]
    body = {
        "type": kind.uri,
        "title": kind.title,
        "status": status or kind.status,
        "detail": detail,
        **extra,
    }
    return JSONResponse(
        body, status_code=status or kind.status, media_type=PROBLEM_JSON, headers=headers
    )


class ProblemError(Exception):
    """Raised by the HTTP layer itself (authentication, headers) to answer a problem."""

    def __init__(
        self, slug: str, detail: str, headers: dict[str, str] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.slug = slug
        self.detail = detail
        self.headers = headers
        self.extra = extra


def field_errors(errors: Sequence[Any]) -> list[dict[str, str]]:
    """Pydantic's errors as [{field, message}], the field a dotted path ("company.siren")."""
    described = []
    for error in errors:
        location = [str(p) for p in error.get("loc", ())]
        if location and location[0] in ("body", "query", "path", "header"):
            where, location = location[0], location[1:]
        else:
            where = "body"
        field = ".".join(location) or where
        message = str(error.get("msg", "invalid")).removeprefix("Value error, ")
        if error.get("type") == "json_invalid":
            field, message = "body", f"malformed JSON ({error.get('ctx', {}).get('error', '')})"
        described.append({"field": field, "in": where, "message": message})
    return described


Handler = Callable[[Request, Any], JSONResponse]


def _problem_error(_: Request, error: ProblemError) -> JSONResponse:
    return problem_response(error.slug, error.detail, headers=error.headers, **error.extra)


def _validation(_: Request, error: RequestValidationError) -> JSONResponse:
    errors = field_errors(error.errors())
    summary = "; ".join(f"{e['field']}: {e['message']}" for e in errors[:3])
    return problem_response("invalid-request", summary or "invalid request", errors=errors)


def _invalid_value(_: Request, error: InvalidValue) -> JSONResponse:
    return problem_response(
        "invalid-request",
        error.message,
        errors=[{"field": error.field, "in": error.where, "message": error.message}],
    )


def _invalid_case_command(_: Request, error: InvalidCaseCommand) -> JSONResponse:
    return problem_response(
        "invalid-request",
        str(error),
        errors=[{"field": error.field, "in": "body", "message": str(error)}],
        current_status=error.status,
    )


def _integrity_failure(_: Request, error: IntegrityFailure) -> JSONResponse:
    return problem_response(
        "integrity-failure",
        str(error),
        case_id=str(error.case_id),
        version=error.version,
    )


def _unreadable(_: Request, error: PersonalDataUnreadable) -> JSONResponse:
    log.error("integrity failure: %s", error)
    return problem_response("integrity-failure", str(error))


def _personal_data_erased(_: Request, error: PersonalDataErasedError) -> JSONResponse:
    return problem_response("personal-data-erased", str(error), current_status=error.status)


def _not_found(_: Request, error: CaseNotFound) -> JSONResponse:
    return problem_response("not-found", str(error))


def _command_not_allowed(_: Request, error: CommandNotAllowed) -> JSONResponse:
    return problem_response(
        "command-not-allowed",
        str(error),
        current_status=error.status,
        allowed=[AllowedCommandView.of(a).model_dump(mode="json") for a in error.allowed],
    )


def _stale_version(_: Request, error: StaleVersion) -> JSONResponse:
    return problem_response(
        "precondition-failed",
        str(error),
        current_version=error.current,
        headers={"ETag": f'"{error.current}"'},
    )


def _version_conflict(_: Request, error: VersionConflict) -> JSONResponse:
    return problem_response("version-conflict", str(error))


def _idempotency_key_reused(_: Request, error: IdempotencyKeyReused) -> JSONResponse:
    return problem_response("idempotency-key-reused", str(error))


def _store_unavailable(request: Request, error: Exception) -> JSONResponse:
    log.warning(
        "store unavailable during %s %s: %s", *request_labels(request.scope), type(error).__name__
    )
    return problem_response(
        "store-unavailable",
        "the case store cannot be reached; retry later",
        headers={"Retry-After": str(RETRY_AFTER_SECONDS)},
    )


BODY_UNREADABLE = "the body cannot be read as JSON (not UTF-8, or nested too deeply)"


def _http_exception(_: Request, error: StarletteHTTPException) -> JSONResponse:
    if error.status_code == 400:
        # FastAPI's answer to a body it could not parse at all (not UTF-8, nested too deep):
        # malformed input, like malformed JSON, is 422 under one rule.
        return problem_response(
            "invalid-request",
            BODY_UNREADABLE,
            errors=[{"field": "body", "in": "body", "message": BODY_UNREADABLE}],
        )
    slug = {
        401: "unauthenticated",
        403: "forbidden",
        404: "not-found",
        405: "method-not-allowed",
        413: "payload-too-large",
    }.get(error.status_code)
    if slug is None:
        slug = "invalid-request" if error.status_code < 500 else "internal-error"
    detail = error.detail if isinstance(error.detail, str) else PROBLEM_TYPES[slug].title
    headers = dict(error.headers) if error.headers else None
    return problem_response(slug, detail, status=error.status_code, headers=headers)


def _unexpected(request: Request, error: Exception) -> JSONResponse:
    log.error("unexpected error during %s %s", *request_labels(request.scope), exc_info=error)
    return problem_response("internal-error", "an unexpected error occurred; it was logged")


def install_problem_handlers(app: FastAPI) -> None:
    handlers: list[tuple[type[Exception], Handler]] = [
        (ProblemError, _problem_error),
        (RequestValidationError, _validation),
        (InvalidValue, _invalid_value),
        (InvalidCaseCommand, _invalid_case_command),
        (CaseNotFound, _not_found),
        (IntegrityFailure, _integrity_failure),
        (PersonalDataUnreadable, _unreadable),
        (PersonalDataErasedError, _personal_data_erased),
        (CommandNotAllowed, _command_not_allowed),
        (StaleVersion, _stale_version),
        (VersionConflict, _version_conflict),
        (IdempotencyKeyReused, _idempotency_key_reused),
        *((error_type, _store_unavailable) for error_type in STORE_ERRORS),
        (StarletteHTTPException, _http_exception),
        (Exception, _unexpected),
    ]
    for error_type, handler in handlers:
        app.add_exception_handler(error_type, handler)
