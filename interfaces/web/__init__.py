"""The people's web: server-rendered pages on the same app as the API (docs/web.md)."""
