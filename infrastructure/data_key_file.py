"""The ring of data keys in a file of its own, outside the database (MEDIATION_DATA_KEYS_FILE).

A secret file (infrastructure.secret_files): owner-only, replaced whole on each change. Every
process of a deployment reads the same file and reads it again when it changes; only one
changes it at a time (a lock file beside it, and the database's rotation lock).
"""

from __future__ import annotations

import base64
import binascii
import fcntl
import json
import os
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path

from application.data_keys import DataKey
from application.data_keys import DataKeyRing
from infrastructure.secret_files import check_owner_only
from infrastructure.secret_files import pending
from infrastructure.secret_files import recover
from infrastructure.secret_files import write_secret_file
from infrastructure.settings import SettingsError

FORMAT = "p2b-mediation data keys 1"


class DataKeyFile(DataKeyRing):
    """The ring of data keys in its file, read again whenever the file changes."""

    def __init__(self, path: Path) -> None:
        super().__init__()
        self.path = path
        self._seen: tuple[int, int, int] | None = None
        self.refresh()

    def refresh(self) -> None:
        try:
            found = self.path.stat()
        except FileNotFoundError:
            if self._seen is not None:
                raise SettingsError(
                    f"MEDIATION_DATA_KEYS_FILE: {self.path} has disappeared; restore it from "
                    "its backup: without it no personal data can be read"
                ) from None
            return
        seen = (found.st_ino, found.st_mtime_ns, found.st_size)
        if seen == self._seen:
            return
        check_owner_only(self.path, "MEDIATION_DATA_KEYS_FILE", found.st_mode)
        try:
            self.ring_id, self._keys = read_ring(self.path)
        except SettingsError:
            if not pending(self.path).exists():
                raise
            self._finish_write()
            self.refresh()
            return
        self._seen = seen

    def _finish_write(self) -> None:
        """The file was read while another process replaced it (zeroed, the new content beside
        it): wait for that process, or finish a replacement it left when it stopped."""
        for _ in range(50):
            with self.exclusive() as alone:
                if alone:  # no process is writing: the one that was has stopped halfway
                    recover(self.path)
                    return
            time.sleep(0.02)
        raise SettingsError(f"MEDIATION_DATA_KEYS_FILE: {self.path} is being rewritten too long")

    def _write(self) -> None:
        content = {
            "format": FORMAT,
            "ring": self.ring_id,
            "keys": [
                {
                    "id": key.id,
                    "key": base64.b64encode(key.secret).decode(),
                    "created_at": key.created_at.isoformat(),
                }
                for key in self._keys
            ],
        }
        write_secret_file(self.path, json.dumps(content, indent=2) + "\n")
        found = self.path.stat()
        self._seen = (found.st_ino, found.st_mtime_ns, found.st_size)

    @contextmanager
    def exclusive(self) -> Iterator[bool]:
        lock = self.path.with_name(f".{self.path.name}.lock")
        descriptor = os.open(lock, os.O_WRONLY | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                yield False
                return
            try:
                yield True
            finally:
                fcntl.flock(descriptor, fcntl.LOCK_UN)
        finally:
            os.close(descriptor)


def read_ring(path: Path) -> tuple[str, list[DataKey]]:
    try:
        content = json.loads(path.read_text())
        if content.get("format") != FORMAT:
            raise ValueError(f"not {FORMAT!r}")
        keys = [
            DataKey(
                id=entry["id"],
                secret=base64.b64decode(entry["key"], validate=True),
                created_at=datetime.fromisoformat(entry["created_at"]),
            )
            for entry in content["keys"]
        ]
        if not keys or not content["ring"]:
            raise ValueError("no key")
        return str(content["ring"]), keys
    except (OSError, ValueError, KeyError, TypeError, binascii.Error) as error:
        raise SettingsError(
            f"MEDIATION_DATA_KEYS_FILE: {path} is not a ring of data keys ({error})"
        ) from None
