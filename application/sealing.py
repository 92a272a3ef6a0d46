"""Sealed storage: every stored event carries a seal that proves it was not altered.

Each case's events form a hash chain over their stored bytes:

    hash(v) = SHA-256(hash(v-1) | case id | v | topic | stored state)      hash(0) = 32 zero bytes

and each hash is MACed (HMAC-SHA-256) under a seal key held outside the database, so someone who
can write to the database but does not hold the key can neither alter an event, nor insert one,
nor forge a seal. A snapshot is sealed with the hash of the event it summarises, so it can be
trusted exactly as far as that event. The seal covers the bytes as stored: ciphertext of
personal data included, so erasing a case's key leaves its seals intact.

The seal travels inside the stored state, in front of the library's own bytes:

    b"SEAL1" | len(key id) | key id | hash (32) | mac (32) | state      (events)
    b"SNAP1" | len(key id) | key id | bound hash (32) | mac (32) | state (snapshots)
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
from collections import OrderedDict
from collections.abc import Iterator
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import replace
from typing import Any
from uuid import UUID

from eventsourcing.domain import DomainEventProtocol
from eventsourcing.persistence import AggregateRecorder
from eventsourcing.persistence import EventStore
from eventsourcing.persistence import Mapper
from eventsourcing.persistence import Notification
from eventsourcing.persistence import Recording
from eventsourcing.persistence import StoredEvent

from application.errors import ApplicationError
from application.keys import KeySet
from application.keys import UnknownKey

log = logging.getLogger("mediation.integrity")

GENESIS = bytes(32)
EVENT_SEAL = b"SEAL1"
SNAPSHOT_SEAL = b"SNAP1"
DIGEST_BYTES = 32


class IntegrityFailure(ApplicationError):
    """A stored history that fails verification; it is never served as if intact."""

    def __init__(self, case_id: UUID, version: int | None, problem: str) -> None:
        where = f"version {version}" if version is not None else "its history"
        super().__init__(f"case {case_id}: {where}: {problem}")
        self.case_id = case_id
        self.version = version
        self.problem = problem


@dataclass(frozen=True)
class Opened:
    """A stored record taken out of its seal."""

    key_id: str
    digest: bytes  # the event's chain hash, or the hash a snapshot is bound to
    mac: bytes
    record: StoredEvent  # the record as the library wrote it, without the seal


class BrokenSeal(Exception):
    """A stored record whose seal does not hold (raised by the sealer, reported by the auditor)."""

    def __init__(self, problem: str) -> None:
        super().__init__(problem)
        self.problem = problem


def _uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def chain_hash(previous: bytes, record: StoredEvent) -> bytes:
    topic = record.topic.encode()
    return hashlib.sha256(
        previous
        + _uuid(record.originator_id).bytes
        + record.originator_version.to_bytes(8, "big")
        + len(topic).to_bytes(4, "big")
        + topic
        + record.state
    ).digest()


def _snapshot_digest(bound: bytes, record: StoredEvent) -> bytes:
    return hashlib.sha256(b"snapshot" + chain_hash(bound, record)).digest()


class Sealer:
    """Seals stored records and checks seals, under the seal keys."""

    def __init__(self, keys: KeySet) -> None:
        self.keys = keys

    def _mac(self, key_id: str, purpose: bytes, digest: bytes) -> bytes:
        return hmac.new(self.keys.key(key_id), purpose + digest, hashlib.sha256).digest()

    @staticmethod
    def _envelope(
        magic: bytes, key_id: str, digest: bytes, mac: bytes, record: StoredEvent
    ) -> StoredEvent:
        kid = key_id.encode()
        state = magic + len(kid).to_bytes(1, "big") + kid + digest + mac + record.state
        return replace(record, state=state)

    def seal_event(self, record: StoredEvent, previous: bytes) -> tuple[StoredEvent, bytes]:
        digest = chain_hash(previous, record)
        key_id = self.keys.current
        mac = self._mac(key_id, b"event", digest)
        return self._envelope(EVENT_SEAL, key_id, digest, mac, record), digest

    def seal_snapshot(self, record: StoredEvent, bound: bytes) -> StoredEvent:
        key_id = self.keys.current
        mac = self._mac(key_id, b"snapshot", _snapshot_digest(bound, record))
        return self._envelope(SNAPSHOT_SEAL, key_id, bound, mac, record)

    @staticmethod
    def open(record: StoredEvent, magic: bytes = EVENT_SEAL) -> Opened:
        state = record.state
        if not state.startswith(magic) or len(state) < len(magic) + 1:
            raise BrokenSeal("the seal is missing or malformed")
        at = len(magic)
        kid_length = state[at]
        at += 1
        kid = state[at : at + kid_length]
        at += kid_length
        digest, mac = (
            state[at : at + DIGEST_BYTES],
            state[at + DIGEST_BYTES : at + 2 * DIGEST_BYTES],
        )
        at += 2 * DIGEST_BYTES
        if len(mac) != DIGEST_BYTES:
            raise BrokenSeal("the seal is missing or malformed")
        try:
            key_id = kid.decode()
        except UnicodeDecodeError:
            raise BrokenSeal("the seal is missing or malformed") from None
        return Opened(key_id, digest, mac, replace(record, state=state[at:]))

    def check_mac(self, opened: Opened, purpose: bytes, digest: bytes) -> None:
        try:
            expected = self._mac(opened.key_id, purpose, digest)
        except UnknownKey:
            raise BrokenSeal(f"sealed with an unknown key {opened.key_id!r}") from None
        if not hmac.compare_digest(expected, opened.mac):
            raise BrokenSeal("the MAC does not verify: the seal was forged or altered")

    def check_event(self, opened: Opened, previous: bytes | None) -> None:
        """Check the MAC; with `previous`, also that the stored bytes hash to the seal."""
        self.check_mac(opened, b"event", opened.digest)
        if previous is not None and chain_hash(previous, opened.record) != opened.digest:
            raise BrokenSeal(
                "the stored event does not match its seal, or does not chain to the event "
                "before it: it was altered, replaced or moved"
            )

    def check_snapshot(self, opened: Opened) -> None:
        self.check_mac(opened, b"snapshot", _snapshot_digest(opened.digest, opened.record))


class ChainHeads:
    """The chain hash of recently written or verified events, by (case, version).

    Writing event v needs the hash of event v-1. Commands always load (and so verify) the case
    first, so the hash is usually here; when it is not, it is read back from the store. Keyed by
    version, an entry can never go stale.
    """

    def __init__(self, maxsize: int = 10_000) -> None:
        self._hashes: OrderedDict[tuple[UUID, int], bytes] = OrderedDict()
        self._lock = threading.Lock()
        self._maxsize = maxsize

    def get(self, case_id: UUID, version: int) -> bytes | None:
        with self._lock:
            return self._hashes.get((case_id, version))

    def put(self, case_id: UUID, version: int, digest: bytes) -> None:
        with self._lock:
            self._hashes[(case_id, version)] = digest
            self._hashes.move_to_end((case_id, version))
            while len(self._hashes) > self._maxsize:
                self._hashes.popitem(last=False)


class SealedEventStore(EventStore[UUID]):
    """The application's event store: seals what it writes, verifies what it reads."""

    def __init__(self, mapper: Mapper[UUID], recorder: AggregateRecorder, sealer: Sealer) -> None:
        super().__init__(mapper, recorder)
        self.sealer = sealer
        self.heads = ChainHeads()

    def put(
        self, domain_events: Sequence[DomainEventProtocol[UUID]], **kwargs: Any
    ) -> list[Recording[UUID]]:
        sealed: list[StoredEvent] = []
        written: list[tuple[UUID, int, bytes]] = []
        previous: dict[UUID, bytes] = {}
        for event in domain_events:
            record = self.mapper.to_stored_event(event)
            case_id, version = _uuid(record.originator_id), record.originator_version
            before = previous.get(case_id) or self.hash_at(case_id, version - 1)
            sealed_record, digest = self.sealer.seal_event(record, before)
            sealed.append(sealed_record)
            previous[case_id] = digest
            written.append((case_id, version, digest))
        ids = self.recorder.insert_events(sealed, **kwargs)
        for case_id, version, digest in written:
            self.heads.put(case_id, version, digest)
        if not ids:
            return []
        return [
            Recording(d, Notification(s.originator_id, s.originator_version, s.topic, s.state, n))
            for d, s, n in zip(domain_events, sealed, ids, strict=True)
        ]

    def hash_at(self, case_id: UUID, version: int) -> bytes:
        """The chain hash of event `version` (GENESIS before the first), verified by its MAC."""
        if version < 1:
            return GENESIS
        known = self.heads.get(case_id, version)
        if known is not None:
            return known
        records = self.recorder.select_events(case_id, gt=version - 1, lte=version)
        if not records:
            raise integrity_failure(case_id, version, "the event is missing")
        opened = self._open(case_id, records[0])
        self._check(case_id, opened, previous=None)
        self.heads.put(case_id, version, opened.digest)
        return opened.digest

    def get(
        self,
        originator_id: UUID,
        *,
        gt: int | None = None,
        lte: int | None = None,
        desc: bool = False,
        limit: int | None = None,
    ) -> Iterator[DomainEventProtocol[UUID]]:
        """The events after `gt` up to `lte`, each verified against the chain before decoding.

        The chain is anchored on event `gt` (its MAC proves its hash), or on the start."""
        anchor = gt or 0
        records = list(
            self.recorder.select_events(originator_id, gt=anchor - 1 if anchor else None, lte=lte)
        )
        previous = GENESIS
        expected = 1
        if anchor:
            if not records or records[0].originator_version != anchor:
                raise integrity_failure(originator_id, anchor, "the event is missing")
            previous = self.hash_at(originator_id, anchor)
            records = records[1:]
            expected = anchor + 1
        events = []
        for record in records:
            if record.originator_version != expected:
                raise integrity_failure(originator_id, expected, "the event is missing")
            opened = self._open(originator_id, record)
            self._check(originator_id, opened, previous)
            self.heads.put(_uuid(originator_id), expected, opened.digest)
            previous = opened.digest
            expected += 1
            events.append(self.mapper.to_domain_event(opened.record))
        if desc:
            events.reverse()
        if limit is not None:
            events = events[:limit]
        return iter(events)

    def _open(self, case_id: UUID, record: StoredEvent) -> Opened:
        try:
            return self.sealer.open(record)
        except BrokenSeal as broken:
            raise integrity_failure(case_id, record.originator_version, broken.problem) from None

    def _check(self, case_id: UUID, opened: Opened, previous: bytes | None) -> None:
        try:
            self.sealer.check_event(opened, previous)
        except BrokenSeal as broken:
            raise integrity_failure(
                case_id, opened.record.originator_version, broken.problem
            ) from None


class SealedSnapshotStore(EventStore[UUID]):
    """The snapshot store: each snapshot sealed with, and checked against, the hash of the
    event it summarises."""

    def __init__(
        self,
        mapper: Mapper[UUID],
        recorder: AggregateRecorder,
        sealer: Sealer,
        events: SealedEventStore,
    ) -> None:
        super().__init__(mapper, recorder)
        self.sealer = sealer
        self.events = events

    def put(
        self, domain_events: Sequence[DomainEventProtocol[UUID]], **kwargs: Any
    ) -> list[Recording[UUID]]:
        sealed = []
        for snapshot in domain_events:
            record = self.mapper.to_stored_event(snapshot)
            bound = self.events.hash_at(_uuid(record.originator_id), record.originator_version)
            sealed.append(self.sealer.seal_snapshot(record, bound))
        self.recorder.insert_events(sealed, **kwargs)
        return []

    def get(self, originator_id: UUID, **query: Any) -> Iterator[DomainEventProtocol[UUID]]:
        """The snapshots the query selects (`gt`, `lte`, `desc`, `limit`, as the library's
        store takes them), each checked and bound to its event before decoding."""
        records = self.recorder.select_events(originator_id, **query)
        snapshots = []
        for record in records:
            version = record.originator_version
            try:
                opened = self.sealer.open(record, SNAPSHOT_SEAL)
                self.sealer.check_snapshot(opened)
            except BrokenSeal as broken:
                raise integrity_failure(
                    originator_id, version, f"snapshot: {broken.problem}"
                ) from None
            if not hmac.compare_digest(opened.digest, self.events.hash_at(originator_id, version)):
                raise integrity_failure(
                    originator_id, version, "snapshot: not bound to the stored event"
                )
            snapshots.append(self.mapper.to_domain_event(opened.record))
        return iter(snapshots)


def integrity_failure(case_id: UUID | str, version: int, problem: str) -> IntegrityFailure:
    failure = IntegrityFailure(_uuid(case_id), version, problem)
    log.error("integrity failure: case %s version %s: %s", case_id, version, problem)
    return failure
