"""What auditors rely on: verifying sealed histories, checkpoints of the whole log, dossiers.

- `verify_case` walks one case's stored events and snapshots and reports every problem found,
  where loading stops at the first.
- A checkpoint commits to the whole log: a Merkle tree (RFC 6962) over every stored event in
  log order, and each case's head, signed with the service's Ed25519 key. Kept on write-once
  storage, it reveals what a hash chain cannot: an event removed from the end of a case, or
  the log rewritten as a whole by someone holding the seal key.
- A dossier is one case with everything needed to verify it offline: its stored events, their
  seals, and a signed statement of its head. `verify_dossier` needs neither database nor keys.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Iterator
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
from datetime import datetime
from typing import Any
from typing import Protocol
from uuid import UUID

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from eventsourcing.persistence import AggregateRecorder
from eventsourcing.persistence import ApplicationRecorder
from eventsourcing.persistence import StoredEvent
from eventsourcing.utils import get_topic

from application.errors import CaseNotFound
from application.keys import Keys
from application.keys import public_key_hex
from application.sealing import GENESIS
from application.sealing import SNAPSHOT_SEAL
from application.sealing import BrokenSeal
from application.sealing import Opened
from application.sealing import Sealer
from application.sealing import chain_hash
from application.tracking_codes import TrackingCodeIndex

CHECKPOINT_FORMAT = "p2b-mediation/checkpoint/1"
DOSSIER_FORMAT = "p2b-mediation/dossier/1"
CHAIN_RULE = (
    "hash(v) = SHA-256(hash(v-1) | case id (16 bytes) | v (8 bytes, big-endian) | "
    "length of topic (4 bytes, big-endian) | topic (UTF-8) | stored state); hash(0) = 32 zero "
    "bytes"
)
PAGE = 1000
TRACKING_CODE_TOPIC = get_topic(TrackingCodeIndex.Registered)


@dataclass(frozen=True)
class Problem:
    """One thing found wrong in a stored history (at a version, or in the log)."""

    version: int | None
    problem: str


@dataclass(frozen=True)
class IntegrityReport:
    """Whether a case's stored history verifies, and what was found wrong."""

    case_id: UUID
    events: int
    head_version: int
    head_hash: bytes
    snapshots: int
    problems: list[Problem]

    @property
    def verified(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class CaseHead:
    """Where a case's history ended when a checkpoint was made: its version and hash."""

    version: int
    digest: bytes


@dataclass(frozen=True)
class Checkpoint:
    """A signed Merkle root of the whole log and each case's head, at a position."""

    created_at: datetime
    log_position: int
    tree_size: int
    merkle_root: bytes
    heads: Mapping[UUID, CaseHead]
    public_key: str
    signature: bytes = b""

    def statement(self) -> dict[str, Any]:
        return {
            "format": CHECKPOINT_FORMAT,
            "created_at": self.created_at.isoformat(),
            "log_position": self.log_position,
            "tree_size": self.tree_size,
            "merkle_root": self.merkle_root.hex(),
            "heads": {
                str(case_id): [head.version, head.digest.hex()]
                for case_id, head in sorted(self.heads.items(), key=lambda item: str(item[0]))
            },
            "public_key": self.public_key,
        }

    def to_json(self) -> dict[str, Any]:
        return {**self.statement(), "signature": self.signature.hex()}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Checkpoint:
        if data.get("format") != CHECKPOINT_FORMAT:
            raise ValueError(f"not a checkpoint ({CHECKPOINT_FORMAT})")
        return cls(
            created_at=datetime.fromisoformat(data["created_at"]),
            log_position=int(data["log_position"]),
            tree_size=int(data["tree_size"]),
            merkle_root=bytes.fromhex(data["merkle_root"]),
            heads={
                UUID(case_id): CaseHead(int(version), bytes.fromhex(digest))
                for case_id, (version, digest) in data["heads"].items()
            },
            public_key=str(data["public_key"]),
            signature=bytes.fromhex(data["signature"]),
        )


class CheckpointArchive(Protocol):
    """Where checkpoints are kept (a folder meant for write-once storage)."""

    def write(self, checkpoint: Checkpoint) -> str: ...

    def latest(self) -> Checkpoint | None: ...


@dataclass
class LogReport:
    """What verifying the whole log found. The tracking-code index's entries are sealed
    histories too, verified alike, but not cases: they are counted apart."""

    events: int = 0  # of the cases
    cases: int = 0
    snapshots: int = 0
    tracking_codes: set[UUID] = field(default_factory=set)  # the index's entries
    problems: list[tuple[UUID | None, Problem]] = field(default_factory=list)

    @property
    def verified(self) -> bool:
        return not self.problems


def canonical(data: Any) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def leaf_hash(data: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + data).digest()


def merkle_root(leaves: list[bytes]) -> bytes:
    """RFC 6962 Merkle tree hash of already-hashed leaves."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    return hashlib.sha256(
        b"\x01" + merkle_root(leaves[:split]) + merkle_root(leaves[split:])
    ).digest()


def event_leaf(position: int, record: StoredEvent) -> bytes:
    """A log entry as the Merkle tree sees it: its position, case, version and stored bytes."""
    case_id = record.originator_id
    case_bytes = case_id.bytes if isinstance(case_id, UUID) else UUID(str(case_id)).bytes
    stored = hashlib.sha256(record.topic.encode() + b"\x00" + record.state).digest()
    return leaf_hash(
        position.to_bytes(8, "big")
        + case_bytes
        + record.originator_version.to_bytes(8, "big")
        + stored
    )


class ChainWalk:
    """Walks one case's stored events in order, noting every problem and each version's hash."""

    def __init__(self, sealer: Sealer) -> None:
        self.sealer = sealer
        self.expected = 1
        self.previous: bytes | None = GENESIS
        self.hashes: dict[int, bytes] = {}
        self.problems: list[Problem] = []

    def add(self, record: StoredEvent) -> None:
        version = record.originator_version
        if version > self.expected:
            missing = ", ".join(str(v) for v in range(self.expected, version))
            self.problems.append(Problem(self.expected, f"event(s) {missing} missing"))
            # After a gap the chain cannot be recomputed: trust the next seal by its MAC only.
            self.previous = None
        elif version < self.expected:
            self.problems.append(Problem(version, "event recorded twice or out of order"))
            return
        try:
            opened = self.sealer.open(record)
        except BrokenSeal as broken:
            self.problems.append(Problem(version, broken.problem))
            self.expected, self.previous = version + 1, None
            return
        try:
            self.sealer.check_event(opened, self.previous)
        except BrokenSeal as broken:
            self.problems.append(Problem(version, broken.problem))
        # Continue from the stored hash: the next event was chained to it when it was written.
        self.hashes[version] = opened.digest
        self.previous = opened.digest
        self.expected = version + 1

    @property
    def head(self) -> CaseHead:
        version = self.expected - 1
        return CaseHead(version, self.hashes.get(version, GENESIS))


class Auditor:
    """Verification over the stored records, without the application's loading rules."""

    def __init__(
        self,
        events: ApplicationRecorder,
        snapshots: AggregateRecorder | None,
        keys: Keys,
    ) -> None:
        self.events = events
        self.snapshots = snapshots
        self.keys = keys
        self.sealer = Sealer(keys.seal)

    def verify_case(self, case_id: UUID, checkpoint: Checkpoint | None = None) -> IntegrityReport:
        records = self.events.select_events(case_id)
        if not records:
            raise CaseNotFound(case_id)
        walk = ChainWalk(self.sealer)
        for record in records:
            walk.add(record)
        problems = list(walk.problems)
        snapshots = self._check_snapshots(case_id, walk.hashes, problems)
        if checkpoint is not None:
            problems += self._against_checkpoint(case_id, walk.hashes, checkpoint)
        head = walk.head
        return IntegrityReport(
            case_id, len(records), head.version, head.digest, snapshots, problems
        )

    def verify_log(self, checkpoint: Checkpoint | None = None) -> LogReport:
        report = LogReport()
        walks: dict[UUID, ChainWalk] = {}
        leaves: list[bytes] = []
        for position, record in self._log():
            case_id = _as_uuid(record.originator_id)
            walks.setdefault(case_id, ChainWalk(self.sealer)).add(record)
            if record.topic == TRACKING_CODE_TOPIC:
                report.tracking_codes.add(case_id)
            else:
                report.events += 1
            if checkpoint is not None and position <= checkpoint.log_position:
                leaves.append(event_leaf(position, record))
        report.cases = len(walks.keys() - report.tracking_codes)
        for case_id, walk in walks.items():
            problems = list(walk.problems)
            report.snapshots += self._check_snapshots(case_id, walk.hashes, problems)
            if checkpoint is not None:
                problems += self._against_checkpoint(case_id, walk.hashes, checkpoint)
            report.problems += [(case_id, p) for p in problems]
        if checkpoint is not None:
            report.problems += [(None, p) for p in self._checkpoint_log(checkpoint, leaves)]
            for case_id in checkpoint.heads.keys() - walks.keys():
                head = checkpoint.heads[case_id]
                report.problems.append(
                    (case_id, Problem(head.version, "the whole case is missing from the log"))
                )
        return report

    def checkpoint(self, now: datetime) -> Checkpoint:
        leaves: list[bytes] = []
        heads: dict[UUID, CaseHead] = {}
        position = 0
        for position, record in self._log():
            leaves.append(event_leaf(position, record))
            opened = self.sealer.open(record)
            heads[_as_uuid(record.originator_id)] = CaseHead(
                record.originator_version, opened.digest
            )
        unsigned = Checkpoint(
            created_at=now,
            log_position=position,
            tree_size=len(leaves),
            merkle_root=merkle_root(leaves),
            heads=heads,
            public_key=self.keys.verifying_key_hex,
        )
        signature = self.keys.signing.sign(canonical(unsigned.statement()))
        return Checkpoint(**{**unsigned.__dict__, "signature": signature})

    def check_signature(self, checkpoint: Checkpoint) -> Problem | None:
        if checkpoint.public_key != self.keys.verifying_key_hex:
            return Problem(None, "the checkpoint was signed with another key than this service's")
        try:
            self.keys.verifying.verify(checkpoint.signature, canonical(checkpoint.statement()))
        except InvalidSignature:
            return Problem(None, "the checkpoint's signature does not verify: it was altered")
        return None

    def seal_data(self, case_id: UUID) -> list[dict[str, Any]]:
        """Each stored event of the case as bytes and seal, for offline verification."""
        rows = []
        for record in self.events.select_events(case_id):
            try:
                opened = self.sealer.open(record)
            except BrokenSeal:
                rows.append(
                    {
                        "version": record.originator_version,
                        "topic": record.topic,
                        "sealed_state": base64.b64encode(record.state).decode(),
                    }
                )
                continue
            rows.append(
                {
                    "version": record.originator_version,
                    "topic": record.topic,
                    "stored_state": base64.b64encode(opened.record.state).decode(),
                    "key_id": opened.key_id,
                    "hash": opened.digest.hex(),
                    "mac": opened.mac.hex(),
                }
            )
        return rows

    def sign(self, statement: Mapping[str, Any]) -> str:
        return self.keys.signing.sign(canonical(statement)).hex()

    def _log(self) -> Iterator[tuple[int, StoredEvent]]:
        start = 1
        while True:
            page = self.events.select_notifications(start, PAGE)
            for notification in page:
                yield notification.id, notification
            if len(page) < PAGE:
                return
            start = page[-1].id + 1

    def _check_snapshots(
        self, case_id: UUID, hashes: Mapping[int, bytes], problems: list[Problem]
    ) -> int:
        if self.snapshots is None:
            return 0
        records = self.snapshots.select_events(case_id)
        for record in records:
            version = record.originator_version
            try:
                opened: Opened = self.sealer.open(record, SNAPSHOT_SEAL)
                self.sealer.check_snapshot(opened)
            except BrokenSeal as broken:
                problems.append(Problem(version, f"snapshot: {broken.problem}"))
                continue
            stored = hashes.get(version)
            if stored is None or not hmac.compare_digest(stored, opened.digest):
                problems.append(Problem(version, "snapshot: not bound to the stored event"))
        return len(records)

    def _against_checkpoint(
        self, case_id: UUID, hashes: Mapping[int, bytes], checkpoint: Checkpoint
    ) -> list[Problem]:
        head = checkpoint.heads.get(case_id)
        if head is None:
            return []
        stored = hashes.get(head.version)
        if stored is None:
            last = max(hashes, default=0)
            return [
                Problem(
                    head.version,
                    f"missing: the checkpoint of {checkpoint.created_at:%Y-%m-%d %H:%M} saw the "
                    f"case at version {head.version}, the log now ends at {last} "
                    "(events were removed)",
                )
            ]
        if not hmac.compare_digest(stored, head.digest):
            return [Problem(head.version, "differs from the checkpoint's record of it")]
        return []

    def _checkpoint_log(self, checkpoint: Checkpoint, leaves: list[bytes]) -> list[Problem]:
        problems = []
        signature = self.check_signature(checkpoint)
        if signature is not None:
            problems.append(signature)
        if len(leaves) != checkpoint.tree_size or merkle_root(leaves) != checkpoint.merkle_root:
            problems.append(
                Problem(
                    None,
                    f"the log up to position {checkpoint.log_position} is not the one the "
                    f"checkpoint of {checkpoint.created_at:%Y-%m-%d %H:%M} saw "
                    f"({len(leaves)} events, the checkpoint counted {checkpoint.tree_size}): "
                    "events were altered, removed, added or reordered",
                )
            )
        return problems


def _as_uuid(value: UUID | str) -> UUID:
    return value if isinstance(value, UUID) else UUID(str(value))


def verify_dossier(dossier: Mapping[str, Any], trusted_key: str) -> list[str]:
    """Every problem found in a dossier, checked without database or secret keys: the chain
    recomputed from the stored bytes, the statement of its head signed by `trusted_key` (hex;
    the key the dossier carries proves nothing by itself), and the history against the stored
    events. An empty list means the dossier is intact."""
    problems: list[str] = []
    if dossier.get("format") != DOSSIER_FORMAT:
        return [f"not a dossier ({DOSSIER_FORMAT})"]
    try:
        case_id = UUID(dossier["case_id"])
        seal = dossier["seal"]
        statement = dossier["statement"]
        signer = dossier["public_key"]
        signature = bytes.fromhex(dossier["signature"])
    except (KeyError, ValueError, TypeError) as error:
        return [f"the dossier is incomplete ({error})"]
    if trusted_key.lower() != str(signer).lower():
        problems.append("signed with another key than the trusted one")
    try:
        Ed25519PublicKey.from_public_bytes(bytes.fromhex(trusted_key)).verify(
            signature, canonical(statement)
        )
    except (InvalidSignature, ValueError):
        problems.append("the statement's signature does not verify")
    previous = GENESIS
    stored_events: dict[int, Any] = {}
    for number, event in enumerate(seal.get("events", []), start=1):
        version = event.get("version")
        if version != number:
            problems.append(f"event {number}: missing (found version {version})")
            break
        if "stored_state" not in event:
            problems.append(f"event {number}: the seal is missing or malformed")
            break
        state = base64.b64decode(event["stored_state"])
        record = StoredEvent(case_id, number, event["topic"], state)
        digest = chain_hash(previous, record)
        if digest.hex() != event.get("hash"):
            problems.append(f"event {number}: the stored bytes do not hash to its seal")
        previous = digest
        stored_events[number] = json.loads(state)
    head = {
        "case_id": str(case_id),
        "head_version": len(stored_events),
        "head_hash": previous.hex(),
    }
    for name, value in head.items():
        if statement.get(name) != value:
            problems.append(f"the signed statement's {name} does not match the events")
    for entry in dossier.get("history", []):
        version = entry.get("version")
        stored = stored_events.get(version)
        if stored is None:
            problems.append(f"history version {version}: no such stored event")
            continue
        topic = seal["events"][version - 1]["topic"]
        if not topic.endswith(f".{entry.get('type')}") and not topic.endswith(
            f":Case.{entry.get('type')}"
        ):
            problems.append(f"history version {version}: type differs from the stored event")
        if stored.get("actor") != entry.get("actor"):
            problems.append(f"history version {version}: actor differs from the stored event")
        stamp = stored.get("timestamp", {})
        recorded = stamp.get("_data_") if isinstance(stamp, dict) else None
        if recorded is None or datetime.fromisoformat(recorded) != datetime.fromisoformat(
            str(entry.get("recorded_at"))
        ):
            problems.append(f"history version {version}: time differs from the stored event")
    if len(dossier.get("history", [])) != len(stored_events):
        problems.append("the history and the stored events differ in number")
    return problems


def dossier_public_key(keys: Keys) -> str:
    return public_key_hex(keys.verifying)
