"""The contract, /openapi.json: what FastAPI makes of the routes, completed where it cannot.

The routes say what they answer (`responses=answers(...)`, summaries, descriptions, the value
rules of their bodies and parameters); this module adds what lies outside any one route.
"""

from __future__ import annotations

from typing import Any

from interfaces.http.problems import Problem


def complete(document: dict[str, Any]) -> dict[str, Any]:
    """`document`, FastAPI's, made the service's contract (in place)."""
    _problems(document)
    _parameters_without_null(document)
    return document


def _problems(document: dict[str, Any]) -> None:
    """The Problem schema the routes' `answers` point to, and no trace of FastAPI's own 422
    body, which this service never answers."""
    schemas = document.setdefault("components", {}).setdefault("schemas", {})
    problem = Problem.model_json_schema(ref_template="#/components/schemas/{model}")
    for name, schema in problem.pop("$defs", {}).items():
        schemas.setdefault(name, schema)
    schemas["Problem"] = problem
    for name in ("HTTPValidationError", "ValidationError"):
        schemas.pop(name, None)
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            answered = operation.get("responses", {})
            default_422 = answered.get("422", {}).get("content", {}).get("application/json")
            if default_422 is not None:
                del answered["422"]


def _parameters_without_null(document: dict[str, Any]) -> None:
    """An optional parameter is left out, never sent as null (a query, a path or a header
    carries no JSON null): its schema is its value's, without pydantic's `anyOf [..., null]`."""
    for operations in document.get("paths", {}).values():
        for operation in operations.values():
            for parameter in operation.get("parameters", []):
                schema = parameter["schema"]
                kinds = [k for k in schema.get("anyOf", []) if k != {"type": "null"}]
                if len(kinds) == 1 and len(schema["anyOf"]) == 2:
                    del schema["anyOf"]
                    schema.update(kinds[0])
                    if schema.get("default", ...) is None:
                        del schema["default"]
