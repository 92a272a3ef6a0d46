"""The workflow commands as forms: what each form's fields are, the API's request body built
from them and validated by it, and every refusal said next to its field in words.

A field's name in the page is its command's name, a hyphen and the API's field name
(`qualify-summary`), so that the forms of one page never share an id; the measure's facts,
nested in the API's body (`measure.effective_on`), are flat in the form.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any
from uuid import UUID

from pydantic import BaseModel
from pydantic import ValidationError
from starlette.datastructures import FormData

from application.mediation import CommandResult
from application.mediation import MediationApplication
from domain.case import ESCALATE
from domain.case import QUALIFY
from domain.case import RECORD_PLATFORM_RESPONSE
from domain.case import RESOLVE
from domain.case import SEND_TO_PLATFORM
from domain.errors import InvalidCaseCommand
from domain.errors import InvalidValue
from domain.errors import PersonalDataErasedError
from interfaces.http.schemas import EscalateCaseRequest
from interfaces.http.schemas import PlatformResponseRequest
from interfaces.http.schemas import QualifyCaseRequest
from interfaces.http.schemas import ResolveCaseRequest
from interfaces.http.schemas import SendToPlatformRequest
from interfaces.web.wording import N_

MEASURE_FIELDS = ("measure", "effective_on", "statement_of_reasons", "notice_received_on")


@dataclass(frozen=True)
class CommandForm:
    """One command's form: its fields (the API's names), those of free text (the first ones
    required while the case holds personal data), the API's request body, and the
    application's method that runs it."""

    command: str
    fields: tuple[str, ...]
    free_texts: tuple[str, ...]
    required_texts: int
    body: type[BaseModel]
    method: str
    done: str
    """What the case page says once the command was recorded."""

    def field_id(self, name: str) -> str:
        return f"{self.command}-{name}"

    def run(self, mediation: MediationApplication) -> Callable[..., CommandResult]:
        method: Callable[..., CommandResult] = getattr(mediation, self.method)
        return method


FORMS: dict[str, CommandForm] = {
    form.command: form
    for form in (
        CommandForm(
            QUALIFY,
            ("category", "priority", "summary", "p2b_articles", "assignee", *MEASURE_FIELDS),
            ("summary",),
            1,
            QualifyCaseRequest,
            "qualify_case",
            N_("The case was qualified."),
        ),
        CommandForm(
            SEND_TO_PLATFORM,
            ("message", "response_due"),
            ("message",),
            1,
            SendToPlatformRequest,
            "send_to_platform",
            N_("The case was sent to the platform."),
        ),
        CommandForm(
            RECORD_PLATFORM_RESPONSE,
            ("stance", "response", "responded_on"),
            ("response",),
            1,
            PlatformResponseRequest,
            "record_platform_response",
            N_("The platform's answer was recorded."),
        ),
        CommandForm(
            ESCALATE,
            ("reason", "note"),
            ("note",),
            0,
            EscalateCaseRequest,
            "escalate_case",
            N_("The case was handed to the business mediator."),
        ),
        CommandForm(
            RESOLVE,
            ("outcome", "summary"),
            ("summary",),
            1,
            ResolveCaseRequest,
            "resolve_case",
            N_("The case was closed."),
        ),
    )
}
"""The forms of the transition table's commands (domain/case.py), by command."""

MESSAGES: dict[str, str] = {
    "category": N_("Choose the category of the problem."),
    "priority": N_("Choose a priority from the list."),
    "qualify-summary": N_("Write a summary of the case."),
    "p2b_articles": N_(
        "Write each article as “Art. 4(1)”, separated by commas: articles 1 to 19 of the "
        "regulation."
    ),
    "assignee": N_("Write who handles the case, in one line of at most 100 characters."),
    "measure": N_("Choose the measure from the list."),
    "effective_on": N_(
        "Write the day the measure took effect (or takes effect, within a year) as a date."
    ),
    "statement_of_reasons": N_("Choose whether the platform gave its reasons."),
    "notice_received_on": N_("Write the day the notice was received: not in the future."),
    "measure-facts": N_("Choose the measure before giving its dates and reasons."),
    "message": N_("Write the message to the platform."),
    "response_due": N_("The answer's due date must be after today and within a year."),
    "stance": N_("Choose how the platform answered."),
    "response": N_("Write what the platform answered."),
    "responded_on": N_(
        "The day of the answer cannot be in the future, nor before the case was last sent."
    ),
    "reason": N_("Choose why the case goes to the mediator."),
    "note": N_("Write the note in plain text, or leave it empty."),
    "outcome": N_("Choose the outcome."),
    "resolve-summary": N_("Write how the case ended."),
    "erased": N_("The personal data of this case was erased: leave the text empty."),
}
"""What each refused field says, by field (or `command-field` where two forms differ)."""

TOO_LONG = N_("This text is too long: at most %(max)s characters.")


@dataclass(frozen=True)
class Refusal:
    """The form's errors, by the field's id in the page, each a message to translate and its
    parameters."""

    errors: dict[str, tuple[str, dict[str, Any]]]


class FormRefused(Exception):
    """The form cannot be recorded as filled in: its errors, by field."""

    def __init__(self, refusal: Refusal) -> None:
        super().__init__(", ".join(refusal.errors))
        self.refusal = refusal


def message_for(form: CommandForm, name: str) -> str:
    return MESSAGES.get(form.field_id(name)) or MESSAGES[name]


def posted_values(form: CommandForm, posted: FormData) -> dict[str, str]:
    """What was typed in the form's fields, by the field's id in the page (kept on a refusal)."""
    values = {}
    for name in form.fields:
        value = posted.get(form.field_id(name))
        if isinstance(value, str):
            values[form.field_id(name)] = value
    return values


def posted_version(posted: FormData) -> int:
    """The case's version the form was made from (the API's If-Match); 0, which no case has,
    when it cannot be read: the command is then refused as stale."""
    text = str(posted.get("version", ""))
    return int(text) if text.isdigit() and len(text) < 10 else 0


def body_of(form: CommandForm, values: Mapping[str, str]) -> dict[str, Any]:
    """The API's request body from the form's values: a blank field is left out, the articles
    are split at commas, the measure's facts are nested."""
    typed = {name: values.get(form.field_id(name), "") for name in form.fields}
    body: dict[str, Any] = {
        name: value
        for name, value in typed.items()
        if value.strip() and name not in MEASURE_FIELDS and name != "p2b_articles"
    }
    if "p2b_articles" in typed:
        body["p2b_articles"] = [a for a in re.split(r"[,;]", typed["p2b_articles"]) if a.strip()]
    if "measure" in typed:
        facts = {name: typed[name] for name in MEASURE_FIELDS if typed[name].strip()}
        if facts:
            body["measure"] = facts
    return body


def refused_field(form: CommandForm, location: tuple[Any, ...]) -> str:
    """The form's field a refusal of the API's body names (`measure.effective_on` is
    `effective_on`; the n-th article is the articles' field)."""
    if location and location[0] == "measure" and len(location) > 1:
        return str(location[1])
    return str(location[0]) if location else form.fields[0]


def missing_texts(form: CommandForm, body: Mapping[str, Any]) -> dict[str, tuple[str, Any]]:
    """The free texts required while the case holds personal data, left blank (the domain
    refuses them too: here they are said with the form's other errors)."""
    required = form.free_texts[: form.required_texts]
    return {form.field_id(n): (message_for(form, n), {}) for n in required if n not in body}


def in_form_order(form: CommandForm, errors: dict[str, Any]) -> dict[str, Any]:
    """The errors in the order of their fields in the form (as the error summary lists them)."""
    order = [form.field_id(name) for name in form.fields]
    return dict(sorted(errors.items(), key=lambda e: order.index(e[0])))


def validated(
    form: CommandForm, values: Mapping[str, str], *, personal_data_erased: bool
) -> dict[str, Any]:
    """The command's arguments, validated by the API's request body: else `FormRefused`."""
    body = body_of(form, values)
    missing = {} if personal_data_erased else missing_texts(form, body)
    try:
        request = form.body.model_validate(body)
    except ValidationError as error:
        errors: dict[str, tuple[str, dict[str, Any]]] = dict(missing)
        for problem in error.errors():
            name = refused_field(form, tuple(problem.get("loc", ())))
            if name == "measure" and "measure" not in body.get("measure", {"measure": 1}):
                errors[form.field_id("measure")] = (MESSAGES["measure-facts"], {})
            elif problem.get("type") == "string_too_long":
                limit = problem.get("ctx", {}).get("max_length")
                errors.setdefault(form.field_id(name), (TOO_LONG, {"max": limit}))
            else:
                errors.setdefault(form.field_id(name), (message_for(form, name), {}))
        raise FormRefused(Refusal(in_form_order(form, errors))) from None
    if missing:
        raise FormRefused(Refusal(missing))
    to_command: Callable[[], dict[str, Any]] = request.to_command  # type: ignore[attr-defined]
    return to_command()


def refusal_of(form: CommandForm, error: Exception) -> Refusal | None:
    """What the domain's refusal of the command says next to which field, if it names one."""
    if isinstance(error, InvalidValue | InvalidCaseCommand) and error.field in form.fields:
        return Refusal({form.field_id(error.field): (message_for(form, error.field), {})})
    if isinstance(error, PersonalDataErasedError) and form.free_texts:
        return Refusal({form.field_id(form.free_texts[0]): (MESSAGES["erased"], {})})
    return None


def run_command(
    form: CommandForm,
    mediation: MediationApplication,
    case_id: UUID,
    arguments: dict[str, Any],
    *,
    actor: str,
    expected_version: int,
    platform: str | None = None,
) -> CommandResult:
    """Runs the command as the API does, If-Match included (for a `platform`, as its portal
    does: on a case sent to it only): a refusal the domain names a field for is
    `FormRefused`; the others (stale, not allowed) go on to the page."""
    scope = {} if platform is None else {"platform": platform}
    try:
        return form.run(mediation)(
            case_id, **arguments, actor=actor, expected_version=expected_version, **scope
        )
    except (InvalidValue, InvalidCaseCommand, PersonalDataErasedError) as error:
        refusal = refusal_of(form, error)
        if refusal is None:
            raise
        raise FormRefused(refusal) from error
