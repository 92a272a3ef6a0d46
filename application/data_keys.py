"""The data keys: the key-encryption keys that wrap each case's own key, and their rotation.

Erasing a case destroys the row that holds its wrapped key, but what a database deletes lingers
on its disk: in PostgreSQL's dead row versions and write-ahead log, in SQLite's journal, in
backups. Every such copy is wrapped by a data key, so it stays readable exactly as long as that
data key exists. Data keys therefore live outside the database, in a ring the service rewrites
itself, and are rotated: a new key wraps new case keys, every live case key is rewrapped under
it, then the older keys are destroyed. From then on every copy of a key they wrapped, wherever it
lingers, is useless with what the service holds. An erasure is complete on disk at the first
rotation after it: within `rotation_days`, or at once with `mediation keys rotate`.

The database keeps what is not secret: which data keys exist, when each was made and retired,
and which ring they belong to. It refuses a new case key wrapped by a data key it does not know
or has retired, so a process that has not yet seen a rotation cannot wrap under a key about to
be destroyed (it reads the ring again and retries).
"""

from __future__ import annotations

import secrets
import threading
import time
import uuid
from abc import ABC
from abc import abstractmethod
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import AbstractContextManager
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
from datetime import UTC
from datetime import datetime
from typing import Protocol

from application.errors import ApplicationError
from application.keys import KEY_BYTES
from application.keys import KeySet
from application.keys import UnknownKey

LONGEST_ROTATION_DAYS = 30
"""A rotation at least this often: the GDPR asks for an erasure within one month."""


@dataclass(frozen=True)
class DataKey:
    """One key-encryption key, and when it was made (its age decides the next rotation)."""

    id: str
    secret: bytes = field(repr=False)
    created_at: datetime

    def __post_init__(self) -> None:
        if not self.id or len(self.id.encode()) > 64:
            raise ValueError("a data key id is 1 to 64 bytes")
        if len(self.secret) != KEY_BYTES:
            raise ValueError(f"data key {self.id!r} is not {KEY_BYTES} bytes")

    @classmethod
    def new(cls, now: datetime) -> DataKey:
        stamp = now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")
        return cls(f"data-{stamp}-{secrets.token_hex(3)}", secrets.token_bytes(KEY_BYTES), now)


def seeded_from(legacy: KeySet, now: datetime) -> list[DataKey]:
    """Data keys given as a setting (MEDIATION_DATA_KEYS, before the ring existed), oldest
    first so that the setting's current key stays the current one."""
    others = [k for k in legacy.keys if k != legacy.current]
    return [DataKey(k, legacy.keys[k], now) for k in [*others, legacy.current]]


class RingNotFound(ApplicationError):
    """The ring of data keys is missing or is not the one this database's keys belong to."""


class DataKeyRetired(ApplicationError):
    """The store refused a new case key: its data key is retired or unknown (a rotation ran in
    another process since this one last read the ring)."""


class RotationBusy(ApplicationError):
    """Another process is rotating the data keys."""


class DataKeyRing(ABC):
    """The data keys the service holds: the newest wraps new case keys, the others only unwrap
    until a rotation has rewrapped what they wrapped and destroyed them."""

    REREAD_SECONDS = 1.0
    """How stale a process's copy of the ring may get while it only unwraps: a key another
    process destroyed is forgotten here within this long of the next use."""

    def __init__(self) -> None:
        self.ring_id = ""
        self._keys: list[DataKey] = []  # oldest first; the last is the current one
        self._read_at = time.monotonic()

    @property
    def exists(self) -> bool:
        return bool(self._keys)

    @property
    def current(self) -> DataKey:
        self.refresh()
        return self._keys[-1]

    def all_keys(self) -> list[DataKey]:
        self.refresh()
        return list(self._keys)

    def secret(self, key_id: str) -> bytes:
        """The key `key_id`, reading the ring again once when it is not (yet) known here."""
        if time.monotonic() - self._read_at > self.REREAD_SECONDS:
            self._read_at = time.monotonic()
            self.refresh()
        for attempt in range(2):
            for key in self._keys:
                if key.id == key_id:
                    return key.secret
            if attempt == 0:
                self.refresh()
        raise UnknownKey(key_id)

    def create(self, keys: Sequence[DataKey]) -> None:
        """Make the ring, first time only."""
        assert not self._keys, "a ring is made once"
        assert keys, "a ring has a current key"
        self.ring_id = str(uuid.uuid4())
        self._keys = list(keys)
        self._write()

    def add(self, key: DataKey) -> None:
        """Add a key, which becomes the current one."""
        self.refresh()
        self._keys.append(key)
        self._write()

    def destroy(self, key_ids: Sequence[str]) -> None:
        """Forget keys for good (never the current one)."""
        self.refresh()
        assert self._keys[-1].id not in key_ids
        self._keys = [k for k in self._keys if k.id not in key_ids]
        self._write()

    @abstractmethod
    def refresh(self) -> None:
        """Read the ring again if another process changed it."""

    @abstractmethod
    def _write(self) -> None:
        """Keep the ring as it now is, durably."""

    @abstractmethod
    def exclusive(self) -> AbstractContextManager[bool]:
        """Whether this process may change the ring: no other one is changing it."""


class MemoryDataKeyRing(DataKeyRing):
    """A ring in memory: for the in-memory store and tests."""

    def __init__(self, keys: Sequence[DataKey] = ()) -> None:
        super().__init__()
        self._lock = threading.Lock()
        if keys:
            self.create(keys)

    def refresh(self) -> None:
        pass

    def _write(self) -> None:
        pass

    @contextmanager
    def exclusive(self) -> Iterator[bool]:
        acquired = self._lock.acquire(blocking=False)
        try:
            yield acquired
        finally:
            if acquired:
                self._lock.release()


@dataclass(frozen=True)
class RegisteredDataKey:
    """What the database knows of a data key: nothing secret."""

    id: str
    ring_id: str
    created_at: datetime
    retired_at: datetime | None


class DataKeyRegistry(Protocol):
    """The database's side of the data keys (the recorders implement it)."""

    def registered_data_keys(self) -> list[RegisteredDataKey]: ...

    def register_data_key(self, key_id: str, ring_id: str, created_at: datetime) -> None: ...

    def retire_data_keys(self, key_ids: Sequence[str], at: datetime) -> None:
        """From the commit on, refuse new case keys wrapped by them; wait for the writes that
        may already be wrapping by them (a fence), so none commits after a rewrap looked."""
        ...

    def count_case_keys(self) -> dict[str, int]:
        """How many case keys each data key wraps."""
        ...

    def rewrite_case_keys(self) -> None:
        """Rewrite the table of case keys, so that deleted or replaced rows leave its files."""
        ...

    def rotation_lock(self) -> AbstractContextManager[bool]:
        """Whether this process may rotate: no other process on this database is rotating."""
        ...


@dataclass(frozen=True)
class Rotation:
    """What a rotation did."""

    current: str
    destroyed: list[str]
    rewrapped: int
