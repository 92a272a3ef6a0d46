"""The platforms file (MEDIATION_PLATFORMS_FILE): who each platform is and where its cases go.

Deployments write it by hand, in TOML, one `[[platform]]` table per platform:

    [[platform]]
    key = "amazon"                       # the platform's key, as in statistics and tokens
    name = "Amazon"                      # display name
    aliases = ["amazon.fr", "Amazon EU"] # names a report may use
    contacts = ["p2b-contact@amazon.example"]
    portal = true                        # may use the portal

It adds to the built-in platforms of domain/platforms.py: an entry with a built-in key keeps
that platform's spellings and gives it a name, more aliases, contacts and the portal; another
key adds a platform. Every mistake stops the start with one line naming the entry.
"""

from __future__ import annotations

import json
import tomllib
from dataclasses import replace
from pathlib import Path
from typing import Any

from domain.errors import InvalidValue
from domain.platforms import BUILTIN_PLATFORMS
from domain.platforms import KnownPlatform
from domain.platforms import PlatformDirectory

FIELDS = ("key", "name", "aliases", "contacts", "portal")
REQUIRED = ("key", "name")


class PlatformsFileError(ValueError):
    """A platforms file that cannot be used; its message is one line naming the entry."""


def load_platforms(path: Path | None) -> PlatformDirectory:
    """The platforms the file describes, over the built-in ones (those alone without a file)."""
    if path is None:
        return BUILTIN_PLATFORMS
    try:
        data = tomllib.loads(path.read_bytes().decode("utf-8"))
    except OSError as error:
        raise PlatformsFileError(
            f"platforms file {path}: cannot be read ({error.strerror or error})"
        ) from None
    except UnicodeDecodeError:
        raise PlatformsFileError(f"platforms file {path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as error:
        raise PlatformsFileError(f"platforms file {path}: not TOML: {error}") from None
    try:
        return _directory(data)
    except PlatformsFileError as error:
        raise PlatformsFileError(f"platforms file {path}: {error}") from None


def _directory(data: dict[str, Any]) -> PlatformDirectory:
    for name in data:
        if name != "platform":
            raise PlatformsFileError(
                f"unknown table {_quoted(name)}: the file holds [[platform]] entries only"
            )
    entries = data.get("platform", [])
    if not isinstance(entries, list):
        raise PlatformsFileError("platform: write each one as a [[platform]] table")
    directory = BUILTIN_PLATFORMS
    numbers: dict[str, int] = {}
    for number, entry in enumerate(entries, start=1):
        where = f"platform {number}"
        if not isinstance(entry, dict):
            raise PlatformsFileError(f"{where}: write each one as a [[platform]] table")
        if isinstance(entry.get("key"), str):
            where += f" ({_quoted(entry['key'])})"
        try:
            platform = _platform(entry)
            if platform.key in numbers:
                raise InvalidValue(
                    "key", f"{_quoted(platform.key)} is already platform {numbers[platform.key]}"
                )
            builtin = BUILTIN_PLATFORMS.get(platform.key)
            if builtin is not None:
                platform = replace(platform, aliases=(*builtin.aliases, *platform.aliases))
            directory = directory.with_platform(platform)
        except InvalidValue as error:
            raise PlatformsFileError(f"{where}: {error.field}: {error.message}") from None
        numbers[platform.key] = number
    return directory


def _platform(entry: dict[str, Any]) -> KnownPlatform:
    for field in entry:
        if field not in FIELDS:
            raise InvalidValue(field, f"unknown field (the fields are {', '.join(FIELDS)})")
    for field in REQUIRED:
        if field not in entry:
            raise InvalidValue(field, "missing")
    for field in ("aliases", "contacts"):
        if not isinstance(entry.get(field, []), list):
            raise InvalidValue(field, f'a list, as ["…", "…"], not {_quoted(entry[field])}')
    return KnownPlatform.parse(
        key=entry["key"],
        name=entry["name"],
        aliases=entry.get("aliases", []),
        contacts=entry.get("contacts", []),
        portal=entry.get("portal", False),
    )


def _quoted(value: object) -> str:
    return json.dumps(value, ensure_ascii=False, default=str)
