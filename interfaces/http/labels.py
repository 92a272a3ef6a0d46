"""How a request is named in metrics and logs: never its path (a tracking code, a case id),
only its method and route template, each from a bounded set of values so that no client can
grow /metrics or fill the logs with what it sends."""

from __future__ import annotations

from starlette.types import Scope

KNOWN_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})


def request_labels(scope: Scope) -> tuple[str, str]:
    """The method (else "other") and the route template (else "unmatched") of a request."""
    method = scope["method"] if scope["method"] in KNOWN_METHODS else "other"
    return method, getattr(scope.get("route"), "path", "unmatched")
