"""The HTTP API of API.md: a thin translation of requests into application calls."""
