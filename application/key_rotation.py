"""Opening the ring of data keys against its database, rotating it, and saying where it stands.

A rotation, in an order that any crash leaves safe to resume (each step is done again, or found
done, by the next rotation):
1. a new data key is registered in the database, then added to the ring, where it becomes the
   one that wraps new case keys;
2. every other data key is retired in the database, which from then on refuses a new case key
   wrapped by one of them (a process that had not yet read the new ring reads it and retries);
3. every case key is rewrapped under the new data key;
4. the other data keys are destroyed: removed from the ring, which is written anew;
5. the table of case keys is rewritten, so its files no longer hold the rows deleted or
   replaced since the last rewrite.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from datetime import timedelta

from application.data_keys import DataKey
from application.data_keys import RegisteredDataKey
from application.data_keys import RingNotFound
from application.data_keys import Rotation
from application.data_keys import RotationBusy
from application.personal_data import CaseKeys


def open_ring(case_keys: CaseKeys, first: Callable[[], Sequence[DataKey]]) -> bool:
    """Check that the ring is the one this database's keys belong to, making it with the
    `first` keys on the first start. Whether it was made now."""
    store, ring = case_keys.store, case_keys.ring
    assert store is not None
    registered = store.registered_data_keys()
    made = False
    if not ring.exists:
        if registered:
            raise RingNotFound(
                f"the data keys of this database (ring {registered[0].ring_id}) are not where "
                "the settings say; restore their file from its backup: without it no personal "
                "data can be read"
            )
        seed = first()
        wrapping = set(store.count_case_keys())
        missing = wrapping - {key.id for key in seed}
        if missing:
            raise RingNotFound(
                f"case keys are wrapped by data keys {sorted(missing)} that are neither in a "
                "ring nor in MEDIATION_DATA_KEYS"
            )
        ring.create(seed)
        made = True
    elif registered and registered[0].ring_id != ring.ring_id:
        raise RingNotFound(
            f"this ring ({ring.ring_id}) is not the one this database's data keys belong to "
            f"({registered[0].ring_id})"
        )
    known = {key.id for key in registered}
    for key in ring.all_keys():
        if key.id not in known:
            store.register_data_key(key.id, ring.ring_id, key.created_at)
    return made


def rotate(case_keys: CaseKeys, now: datetime, *, new_key: bool = True) -> Rotation:
    """Rotate the data keys (see the module's steps); without `new_key`, only finish what an
    interrupted rotation left (older keys retired, rewrapped away from and destroyed)."""
    store, ring = case_keys.store, case_keys.ring
    assert store is not None
    with store.rotation_lock() as ours, ring.exclusive() as mine:
        if not (ours and mine):
            raise RotationBusy("another process is rotating the data keys")
        if new_key:
            fresh = DataKey.new(now)
            store.register_data_key(fresh.id, ring.ring_id, fresh.created_at)
            ring.add(fresh)
        current = ring.current.id
        older = {k.id for k in ring.all_keys()} | {
            k.id for k in store.registered_data_keys() if k.retired_at is None
        }
        older.discard(current)
        store.retire_data_keys(sorted(older), now)
        rewrapped = case_keys.rewrap_all()
        in_ring = [k.id for k in ring.all_keys() if k.id != current]
        if in_ring:
            ring.destroy(in_ring)
        store.rewrite_case_keys()
    return Rotation(current=current, destroyed=sorted(older), rewrapped=rewrapped)


@dataclass(frozen=True)
class KeysStatus:
    """Where the data keys stand: what `mediation keys status` shows."""

    current: DataKey
    ring: list[DataKey]
    registered: list[RegisteredDataKey]
    case_keys: dict[str, int]
    next_rotation: datetime

    @property
    def unfinished(self) -> bool:
        """Whether a rotation was left half done (older keys still in the ring)."""
        return len(self.ring) > 1


def rotation_due(case_keys: CaseKeys, now: datetime, rotation_days: int) -> bool:
    """Whether the current data key is `rotation_days` old (a new one is due)."""
    return now - case_keys.ring.current.created_at >= timedelta(days=rotation_days)


def rotation_unfinished(case_keys: CaseKeys) -> bool:
    """Whether a rotation was left half done: older keys still in the ring, or known to the
    database and not yet retired."""
    store, ring = case_keys.store, case_keys.ring
    assert store is not None
    current = ring.current.id
    return len(ring.all_keys()) > 1 or any(
        k.retired_at is None and k.id != current for k in store.registered_data_keys()
    )


def keys_status(case_keys: CaseKeys, rotation_days: int) -> KeysStatus:
    store, ring = case_keys.store, case_keys.ring
    assert store is not None
    current = ring.current
    return KeysStatus(
        current=current,
        ring=ring.all_keys(),
        registered=store.registered_data_keys(),
        case_keys=store.count_case_keys(),
        next_rotation=current.created_at + timedelta(days=rotation_days),
    )
