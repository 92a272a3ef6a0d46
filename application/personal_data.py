"""Personal data, encrypted per case so that it can be erased although events never change.

Every PersonalText (the company's and the contact's names, the e-mail, every free text) is
stored encrypted with AES-GCM under its case's own key; the case's key is stored wrapped by a
data key (a key-encryption key held outside the database, application.data_keys), in a table
of its own, written in the same transaction as the case's first event. Erasing a case destroys
its key: its events still load and replay, and every personal field then reads "[effacé]".

Which case a PersonalText belongs to is not something the value knows: the mapper says which
case it is encoding or decoding through a context variable, and the transcoding asks the case
keys for that case's key. Keys are looked up per application call, never cached across calls,
so a key destroyed by one process is not used by another.
"""

from __future__ import annotations

import base64
import functools
import secrets
from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from contextlib import AbstractContextManager
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from typing import ParamSpec
from typing import Protocol
from typing import TypeVar
from typing import runtime_checkable
from uuid import UUID

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import Mapper
from eventsourcing.persistence import MapperDeserialisationError
from eventsourcing.persistence import PersistenceError
from eventsourcing.persistence import StoredEvent
from eventsourcing.persistence import Transcoding

from application.data_keys import DataKeyRing
from application.data_keys import RegisteredDataKey
from application.errors import ApplicationError
from application.keys import UnknownKey
from application.sealing import integrity_failure
from domain.values import ERASED
from domain.values import PersonalText

_current_case: ContextVar[UUID | None] = ContextVar("current_case", default=None)
_call_keys: ContextVar[dict[UUID, bytes | None] | None] = ContextVar("call_keys", default=None)

P = ParamSpec("P")
R = TypeVar("R")

_CIPHERTEXT_PREFIX = "v1."
_ERASED_MARK = "erased"


@dataclass(frozen=True)
class WrappedKey:
    """A case's data key encrypted under the key-encryption key `kek_id`."""

    kek_id: str
    wrapped: bytes


@runtime_checkable
class CaseKeyStore(Protocol):
    """Where wrapped case keys live (next to the events, never inside them).

    Keys are added and destroyed in the same transaction as events, through the keyword
    arguments `new_case_keys` and `destroyed_case_keys` of the recorder's insert_events."""

    def wrapped_case_key(self, case_id: UUID) -> WrappedKey | None: ...

    def wrapped_case_keys(self, case_ids: Sequence[UUID]) -> dict[UUID, WrappedKey]:
        """The wrapped keys of those cases that still have one."""
        ...

    def case_keys_not_wrapped_by(self, kek_id: str, limit: int) -> list[tuple[UUID, WrappedKey]]:
        """Up to `limit` case keys wrapped by another key-encryption key than `kek_id`."""
        ...

    def replace_wrapped_case_key(self, case_id: UUID, old: WrappedKey, new: WrappedKey) -> bool:
        """Swap a case's wrapped key if it is still `old` (not erased meanwhile)."""
        ...

    # The register of data keys (application.data_keys.DataKeyRegistry).

    def registered_data_keys(self) -> list[RegisteredDataKey]: ...

    def register_data_key(self, key_id: str, ring_id: str, created_at: datetime) -> None: ...

    def retire_data_keys(self, key_ids: Sequence[str], at: datetime) -> None: ...

    def count_case_keys(self) -> dict[str, int]: ...

    def rewrite_case_keys(self) -> None: ...

    def rotation_lock(self) -> AbstractContextManager[bool]: ...


class PersonalDataUnreadable(ApplicationError):
    """Ciphertext that does not decrypt under its case's key: altered, or the wrong key."""


class CaseKeys:
    """Makes, wraps and finds the key of each case; the data keys that wrap them are a ring
    held outside the database (application.data_keys)."""

    def __init__(self, ring: DataKeyRing) -> None:
        self.ring = ring
        self.store: CaseKeyStore | None = None

    def new_key(self, case_id: UUID) -> WrappedKey:
        """A fresh key for a new case, remembered for this call, and its wrapped form to store."""
        key = AESGCM.generate_key(bit_length=256)
        cache = _call_keys.get()
        if cache is not None:
            cache[case_id] = key
        return self._wrap(case_id, key)

    def wrap_again(self, case_id: UUID) -> WrappedKey:
        """The new case's key (made in this call) wrapped under the current data key, after
        the store refused it wrapped under a data key a rotation had just retired."""
        cache = _call_keys.get()
        key = None if cache is None else cache.get(case_id)
        assert key is not None, "only a key made in this call is wrapped again"
        return self._wrap(case_id, key)

    def _wrap(self, case_id: UUID, key: bytes) -> WrappedKey:
        data_key = self.ring.current
        nonce = secrets.token_bytes(12)
        wrapped = nonce + AESGCM(data_key.secret).encrypt(nonce, key, case_id.bytes)
        return WrappedKey(data_key.id, wrapped)

    def rewrap_all(self) -> int:
        """Wrap every case key under the current data key, so that the older ones can be
        destroyed (see application.data_keys). Returns how many were rewrapped."""
        assert self.store is not None
        current = self.ring.current.id
        done = 0
        while True:
            batch = self.store.case_keys_not_wrapped_by(current, 500)
            if not batch:
                return done
            for case_id, old in batch:
                new = self._wrap(case_id, self._unwrap(case_id, old))
                done += self.store.replace_wrapped_case_key(case_id, old, new)

    def forget(self, case_id: UUID) -> None:
        cache = _call_keys.get()
        if cache is not None:
            cache.pop(case_id, None)

    def key_for(self, case_id: UUID) -> bytes | None:
        """The case's data key, or None when it was destroyed."""
        cache = _call_keys.get()
        if cache is not None and case_id in cache:
            return cache[case_id]
        assert self.store is not None, "the case key store is set when the application opens"
        wrapped = self.store.wrapped_case_key(case_id)
        key = None if wrapped is None else self._unwrap(case_id, wrapped)
        if cache is not None:
            cache[case_id] = key
        return key

    def reveal(self, case_id: UUID, stored: str) -> PersonalText:
        """The text behind a stored personal text of the case: "[effacé]" once erased (the
        mark, or the case's key destroyed), "[non lu]" where nothing was kept."""
        if stored == _ERASED_MARK:
            return ERASED
        if not stored.startswith(_CIPHERTEXT_PREFIX):
            return NOT_READ
        key = self.key_for(case_id)
        if key is None:
            return ERASED
        raw = base64.b64decode(stored.removeprefix(_CIPHERTEXT_PREFIX))
        try:
            return PersonalText(AESGCM(key).decrypt(raw[:12], raw[12:], case_id.bytes).decode())
        except InvalidTag:
            raise PersonalDataUnreadable(
                f"personal data of case {case_id} does not decrypt under its key"
            ) from None

    def reveal_all(self, stored: Mapping[UUID, str]) -> dict[UUID, PersonalText]:
        """`reveal` for several cases, their keys read in one round trip."""
        assert self.store is not None, "the case key store is set when the application opens"
        cache = _call_keys.get()
        missing = [c for c in stored if cache is None or c not in cache]
        if missing and cache is not None:
            found = self.store.wrapped_case_keys(missing)
            for case_id in missing:
                wrapped = found.get(case_id)
                cache[case_id] = None if wrapped is None else self._unwrap(case_id, wrapped)
        return {case_id: self.reveal(case_id, text) for case_id, text in stored.items()}

    def _unwrap(self, case_id: UUID, wrapped: WrappedKey) -> bytes:
        try:
            kek = self.ring.secret(wrapped.kek_id)
            nonce, sealed = wrapped.wrapped[:12], wrapped.wrapped[12:]
            return AESGCM(kek).decrypt(nonce, sealed, case_id.bytes)
        except (UnknownKey, InvalidTag):
            raise PersonalDataUnreadable(
                f"the data key of case {case_id} cannot be unwrapped"
            ) from None

    @staticmethod
    @contextmanager
    def call() -> Iterator[None]:
        """One application call: each case's key is read at most once, and forgotten after."""
        if _call_keys.get() is not None:
            yield
            return
        token = _call_keys.set({})
        try:
            yield
        finally:
            _call_keys.reset(token)


class EncryptedPersonalText(Transcoding):
    """PersonalText stored as AES-GCM ciphertext under its case's key (the case id is the
    associated data, so ciphertext moved to another case does not decrypt)."""

    type = PersonalText
    name = "personal_text"

    def __init__(self, keys: CaseKeys) -> None:
        self.keys = keys

    def encode(self, obj: PersonalText) -> str:
        if obj.is_erased:
            return _ERASED_MARK
        case_id = _current_case.get()
        key = None if case_id is None else self.keys.key_for(case_id)
        if case_id is None or key is None:
            # Never store personal data in clear, whatever the caller forgot.
            raise PersonalDataUnreadable("personal data can only be stored under a case key")
        nonce = secrets.token_bytes(12)
        ciphertext = AESGCM(key).encrypt(nonce, obj.text.encode(), case_id.bytes)
        return _CIPHERTEXT_PREFIX + base64.b64encode(nonce + ciphertext).decode("ascii")

    def decode(self, data: Any) -> PersonalText:
        case_id = _current_case.get()
        if case_id is None:
            return ERASED
        return self.keys.reveal(case_id, str(data))


NOT_READ = PersonalText("[non lu]")
"""What personal data reads as where it is never decrypted: in the read models' projections."""


@dataclass(frozen=True, repr=False)
class StoredPersonalText(PersonalText):
    """Personal data as projections see it: not its text, only its stored form (ciphertext
    under the case's key, or the erasure mark). A read model that shows personal data keeps
    this form, so the text is revealed only where it is served and an erasure (the case's key
    destroyed) reaches the read model too."""

    text: str = NOT_READ.text
    stored: str = ""


class UnreadPersonalText(Transcoding):
    """Decodes PersonalText without its key: read models never see personal data in clear."""

    type = PersonalText
    name = "personal_text"

    def encode(self, obj: PersonalText) -> str:
        raise PersonalDataUnreadable("this mapper only reads, for projections")

    def decode(self, data: Any) -> PersonalText:
        return ERASED if data == _ERASED_MARK else StoredPersonalText(stored=str(data))


def stored_form(value: PersonalText) -> str:
    """What a read model keeps of a personal text: its stored form, never its text (the text
    of a store written before this field was encrypted is not kept: it reads as not read)."""
    if isinstance(value, StoredPersonalText):
        return value.stored
    return _ERASED_MARK if value.is_erased else ""


class CaseAwareMapper(Mapper[UUID]):
    """The library's mapper, telling the transcodings which case each record belongs to."""

    def to_stored_event(self, domain_event: DomainEventProtocol[UUID]) -> StoredEvent:
        token = _current_case.set(_as_uuid(domain_event.originator_id))
        try:
            return super().to_stored_event(domain_event)
        finally:
            _current_case.reset(token)

    def to_domain_event(self, stored_event: StoredEvent) -> DomainEventProtocol[UUID]:
        case_id = _as_uuid(stored_event.originator_id)
        token = _current_case.set(case_id)
        try:
            return super().to_domain_event(stored_event)
        except MapperDeserialisationError as error:
            if isinstance(error.__cause__, PersistenceError):
                # The case's key could not be read: the store failed, not the stored bytes.
                raise error.__cause__ from None
            if isinstance(error.__cause__, PersonalDataUnreadable):
                # Sealed bytes that do not decrypt: the case's key row was tampered with, or
                # the data keys are not the ones it was written with.
                raise integrity_failure(
                    case_id, stored_event.originator_version, str(error.__cause__)
                ) from None
            raise
        finally:
            _current_case.reset(token)


def keys_per_call(method: Callable[P, R]) -> Callable[P, R]:
    """Run an application method as one call for case keys (see CaseKeys.call)."""

    @functools.wraps(method)
    def in_one_call(*args: P.args, **kwargs: P.kwargs) -> R:
        with CaseKeys.call():
            return method(*args, **kwargs)

    return in_one_call


def _as_uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))
