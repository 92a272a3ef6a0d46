"""The documentation says what the code does: its tables are checked against the code.

docs/domain.md's transitions, events, deadlines and categories; docs/http.md's role table; and
the README sends readers only to what the repository holds.
"""

from __future__ import annotations

import importlib
import pkgutil
import re
from datetime import date
from datetime import timedelta
from pathlib import Path
from typing import Any

from fastapi import APIRouter

import interfaces.http
from application.access import Role
from domain.case import TRANSITIONS
from domain.case import Case
from domain.deadlines import Deadlines
from domain.deadlines import is_overdue
from domain.values import CATEGORY_LABELS
from domain.values import CATEGORY_P2B_BASIS
from domain.values import Category
from domain.values import Outcome
from domain.values import Priority
from domain.values import Status
from interfaces.http.auth import admitted_roles

ROOT = Path(__file__).resolve().parents[1]
DOMAIN = (ROOT / "docs" / "domain.md").read_text()
HTTP = (ROOT / "docs" / "http.md").read_text()


def table(text: str, first_header: str) -> list[list[str]]:
    """The rows of the Markdown table whose first header cell is `first_header`."""
    lines = text.splitlines()
    for number, line in enumerate(lines):
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("|") and cells[0] == first_header:
            rows = []
            for row in lines[number + 2 :]:
                if not row.startswith("|"):
                    break
                rows.append([c.strip() for c in row.strip().strip("|").split("|")])
            return rows
    raise AssertionError(f"no table headed {first_header!r}")


def unquoted(cell: str) -> str:
    return cell.strip("`")


def test_the_transition_table_is_the_one_the_case_enforces() -> None:
    written: dict[Status, dict[str, frozenset[Outcome] | None]] = {}
    for status, _, allowed in table(DOMAIN, "status"):
        commands: dict[str, frozenset[Outcome] | None] = {}
        if not allowed.startswith("nothing"):
            for part in allowed.split("; "):
                match = re.fullmatch(r"([a-z-]+)(?: \(([a-z_, ]+)\))?", part)
                assert match, part
                outcomes = match.group(2)
                commands[match.group(1)] = (
                    None if outcomes is None else frozenset(map(Outcome, outcomes.split(", ")))
                )
        written[Status(unquoted(status))] = commands
    assert written == TRANSITIONS


def test_each_status_is_reached_by_the_event_the_table_names() -> None:
    for _, event, _ in table(DOMAIN, "status"):
        assert issubclass(getattr(Case, event), Case.Event), event


def test_the_events_table_names_every_event_of_a_case() -> None:
    written = {unquoted(row[0]) for row in table(DOMAIN, "event")}
    events = {
        name
        for name, value in vars(Case).items()
        if isinstance(value, type) and issubclass(value, Case.Event) and value is not Case.Event
    } - {"Created"}  # the library's own name for a creation event: Reported is the case's
    assert written == events


def test_the_deadlines_table_follows_the_default_rules() -> None:
    rows = {row[0]: row[1:] for row in table(DOMAIN, "")}
    rules = Deadlines()
    sent = date(2026, 1, 1)
    for column, priority in enumerate((Priority.NORMAL, Priority.URGENT)):
        due = rules.due(sent, priority)
        days = (due - sent).days
        first_overdue = next(d for d in range(1, 400) if is_overdue(due, sent + timedelta(d)))
        escalated = next(
            d for d in range(1, 400) if rules.silence_expired(due, priority, sent + timedelta(d))
        )
        grace = rules.grace_days(priority)
        cells = [rows[name][column] for name in rows]
        assert [int(re.search(r"\d+", c).group()) for c in cells] == [  # type: ignore[union-attr]
            days,
            grace,
            first_overdue,
            escalated,
        ]


def test_the_categories_table_is_the_taxonomy_with_its_words_and_articles() -> None:
    written = {
        Category(unquoted(key)): (french, english, None if basis == "—" else basis)
        for key, french, english, basis in table(DOMAIN, "key")
    }
    assert written == {
        category: (*CATEGORY_LABELS[category], CATEGORY_P2B_BASIS[category])
        for category in Category
    }


def test_the_role_table_is_the_one_the_routes_enforce() -> None:
    written = {
        unquoted(row[0]): {role for role, cell in zip(ROLES, row[1:], strict=True) if cell}
        for row in table(HTTP, "endpoint")
    }
    enforced = {}
    for module in route_modules():
        for route in module.router.routes:
            role_sets = admitted_roles(route.dependant)  # type: ignore[attr-defined]
            if role_sets:
                (method,) = route.methods  # type: ignore[attr-defined]
                roles = {r.value for r in role_sets[0]}
                enforced[f"{method} {route.path}"] = roles  # type: ignore[attr-defined]
    assert written == enforced


ROLES = tuple(role.value for role in Role)


def route_modules() -> list[Any]:
    """Every module of interfaces/http that has routes: none can be left out of the table."""
    found = []
    for info in pkgutil.iter_modules(interfaces.http.__path__):
        module = importlib.import_module(f"interfaces.http.{info.name}")
        if isinstance(getattr(module, "router", None), APIRouter):
            found.append(module)
    return found


def test_the_readme_sends_readers_only_to_what_the_repository_holds() -> None:
    readme = (ROOT / "README.md").read_text()
    assert "../shared" not in readme
    for target in re.findall(r"\]\(((?!https?:)[^)#]+)", readme):
        assert (ROOT / target).exists(), target


def test_the_web_pages_table_lists_every_page_at_both_its_addresses() -> None:
    from interfaces.web.pages import SITE
    from interfaces.web.site import ROUTERS

    assert ROUTERS, "the site's pages are registered as its routers are imported"
    table = (ROOT / "docs" / "web.md").read_text()
    rows = {
        row[0]: row
        for row in (
            [cell.strip() for cell in line.strip("|").split("|")]
            for line in table.splitlines()
            if line.startswith("| ")
        )
    }
    for name, addresses in SITE.items():
        assert name in rows, f"docs/web.md's page table lacks {name}"
        assert f"`{addresses.fr}`" in rows[name][1], name
        assert f"`{addresses.en}`" in rows[name][2], name
