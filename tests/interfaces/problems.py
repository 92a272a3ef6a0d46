"""What every problem+json answer must be, checked one way for every HTTP test."""

from __future__ import annotations

from typing import Any

PROBLEM_JSON = "application/problem+json"


def assert_problem(answer: Any, status: int) -> dict[str, Any]:
    """The answer is an RFC 9457 problem with `status`, a type, a title and a detail."""
    assert answer.status_code == status, answer.text
    assert answer.headers["content-type"].startswith(PROBLEM_JSON)
    body: dict[str, Any] = answer.json()
    for member in ("type", "title", "status", "detail"):
        assert member in body, f"{member} missing from {body}"
    assert body["status"] == status
    for member in ("type", "title", "detail"):
        assert isinstance(body[member], str)
        assert body[member]
    return body
