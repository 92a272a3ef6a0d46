"""Files that hold secrets (keys): owner-only from their first byte, replaced whole.

A new content is written beside the file and flushed to disk; the old file is then overwritten
in place with zeros (renaming alone would leave its bytes in the freed blocks: a destroyed key
would linger there), and the new one renamed over it. A crash between the two leaves the new
content beside a zeroed file: `recover` puts it in place. A reader sees the old content or the
new one, never half of one, and others never can read either.
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

from infrastructure.settings import SettingsError


def write_secret_file(path: Path, content: str) -> None:
    fresh = pending(path)
    fresh.unlink(missing_ok=True)
    descriptor = os.open(fresh, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(content)
        file.flush()
        os.fsync(file.fileno())
    if path.exists():
        with path.open("r+b") as old:
            old.write(bytes(path.stat().st_size))
            old.flush()
            os.fsync(old.fileno())
    os.replace(fresh, path)
    folder = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(folder)
    finally:
        os.close(folder)


def pending(path: Path) -> Path:
    """Where the next content of `path` is written before it replaces it."""
    return path.with_name(f".{path.name}.new")


def recover(path: Path) -> bool:
    """Finish a replacement a crash interrupted (the new content complete beside the file);
    whether there was one."""
    fresh = pending(path)
    if not fresh.exists():
        return False
    os.replace(fresh, path)
    return True


def check_owner_only(path: Path, variable: str, mode: int) -> None:
    """Refuse a secret file that others can read (`mode` from its stat)."""
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SettingsError(f"{variable}: {path} can be read by others; chmod 600 it")
