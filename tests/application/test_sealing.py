"""The seal and the checkpoint's Merkle tree, on their own: what they detect and what they don't."""

from __future__ import annotations

import hashlib
from dataclasses import replace
from uuid import UUID
from uuid import uuid4

import pytest
from eventsourcing.persistence import StoredEvent
from hypothesis import given
from hypothesis import strategies as st

from application.audit import ChainWalk
from application.audit import leaf_hash
from application.audit import merkle_root
from application.keys import KeySet
from application.sealing import GENESIS
from application.sealing import BrokenSeal
from application.sealing import Sealer
from application.sealing import chain_hash

# Certificate Transparency's test vectors (RFC 6962 trees of the first 1..8 of these leaves).
CT_LEAVES = [
    b"",
    b"\x00",
    b"\x10",
    b"\x20\x21",
    b"\x30\x31",
    b"\x40\x41\x42\x43",
    b"\x50\x51\x52\x53\x54\x55\x56\x57",
    b"\x60\x61\x62\x63\x64\x65\x66\x67\x68\x69\x6a\x6b\x6c\x6d\x6e\x6f",
]
CT_ROOTS = [
    "6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d",
    "fac54203e7cc696cf0dfcb42c92a1d9dbaf70ad9e621f4bd8d98662f00e3c125",
    "aeb6bcfe274b70a14fb067a5e5578264db0fa9b51af5e0ba159158f329e06e77",
    "d37ee418976dd95753c1c73862b9398fa2a2cf9b4ff0fdfe8b30cd95209614b7",
    "4e3bbb1f7b478dcfe71fb631631519a3bca12c9aefca1612bfce4c13a86264d4",
    "76e67dadbcdf1e10e1b74ddc608abd2f98dfb16fbce75277b5232a127f2087ef",
    "ddb89be403809e325750d3d263cd78929c2942b7942a34b77e122c9594a74c8c",
    "5dc9da79a70659a9ad559cb701ded9a2ab9d823aad2f4960cfe370eff4604328",
]


@pytest.mark.parametrize("size", range(1, 9))
def test_the_merkle_root_is_rfc_6962s(size: int) -> None:
    leaves = [leaf_hash(data) for data in CT_LEAVES[:size]]
    assert merkle_root(leaves).hex() == CT_ROOTS[size - 1]


def test_the_empty_tree_is_the_hash_of_nothing() -> None:
    assert merkle_root([]) == hashlib.sha256(b"").digest()


@given(st.lists(st.binary(max_size=8), min_size=2, max_size=40), st.data())
def test_any_change_to_the_leaves_changes_the_root(
    leaves: list[bytes], data: st.DataObject
) -> None:
    hashed = [leaf_hash(leaf) for leaf in leaves]
    root = merkle_root(hashed)
    index = data.draw(st.integers(0, len(hashed) - 1))
    assert merkle_root(hashed[:index] + hashed[index + 1 :]) != root
    changed = leaf_hash(leaves[index] + b"!")
    assert merkle_root([*hashed[:index], changed, *hashed[index + 1 :]]) != root
    other = data.draw(st.integers(0, len(hashed) - 1))
    if hashed[index] != hashed[other]:
        swapped = list(hashed)
        swapped[index], swapped[other] = swapped[other], swapped[index]
        assert merkle_root(swapped) != root


SEALER = Sealer(KeySet.generate("k1"))


def sealed_history(case_id: UUID, states: list[bytes]) -> list[StoredEvent]:
    records, previous = [], GENESIS
    for version, state in enumerate(states, start=1):
        record, previous = SEALER.seal_event(
            StoredEvent(case_id, version, f"domain.case:Case.E{version % 3}", state), previous
        )
        records.append(record)
    return records


def problems(records: list[StoredEvent], sealer: Sealer = SEALER) -> list[str]:
    walk = ChainWalk(sealer)
    for record in records:
        walk.add(record)
    return [p.problem for p in walk.problems]


states = st.lists(st.binary(min_size=1, max_size=40), min_size=2, max_size=12)


@given(states)
def test_an_untouched_history_verifies(payloads: list[bytes]) -> None:
    assert problems(sealed_history(uuid4(), payloads)) == []


@given(states, st.data())
def test_a_flipped_byte_anywhere_is_detected(payloads: list[bytes], data: st.DataObject) -> None:
    records = sealed_history(uuid4(), payloads)
    index = data.draw(st.integers(0, len(records) - 1))
    position = data.draw(st.integers(0, len(records[index].state) - 1))
    state = bytearray(records[index].state)
    state[position] ^= data.draw(st.integers(1, 255))
    records[index] = replace(records[index], state=bytes(state))
    assert problems(records)


@given(states, st.data())
def test_a_removed_swapped_or_replayed_event_is_detected(
    payloads: list[bytes], data: st.DataObject
) -> None:
    records = sealed_history(uuid4(), payloads)
    index = data.draw(st.integers(0, len(records) - 2))
    assert problems(records[:index] + records[index + 1 :])  # removed, not the last
    swapped = list(records)
    swapped[index], swapped[index + 1] = (
        replace(records[index + 1], originator_version=index + 1),
        replace(records[index], originator_version=index + 2),
    )
    if records[index].state != records[index + 1].state:
        assert problems(swapped)
    assert problems([*records, replace(records[index], originator_version=len(records) + 1)])


def test_removing_the_last_event_is_invisible_to_the_chain_alone() -> None:
    """Why checkpoints exist: the chain of the first n-1 events is a valid chain."""
    records = sealed_history(uuid4(), [b"a", b"b", b"c"])
    assert problems(records[:-1]) == []


def test_an_event_appended_without_the_key_is_detected() -> None:
    case_id = uuid4()
    records = sealed_history(case_id, [b"a", b"b"])
    forged_record = StoredEvent(case_id, 3, "domain.case:Case.E0", b"forged")
    opened = SEALER.open(records[-1])
    # The forger can compute the chain hash, but not the MAC.
    digest = chain_hash(opened.digest, forged_record)
    forged = Sealer(KeySet.generate("k1"))._envelope(
        b"SEAL1", "k1", digest, bytes(32), forged_record
    )
    assert any("MAC" in p for p in problems([*records, forged]))


def test_a_seal_under_an_unknown_key_is_reported() -> None:
    records = sealed_history(uuid4(), [b"a"])
    with pytest.raises(BrokenSeal, match="unknown key"):
        Sealer(KeySet.generate("k2")).check_event(SEALER.open(records[0]), GENESIS)


def test_keys_rotate_old_seals_still_verify() -> None:
    old = KeySet.generate("2025")
    new = KeySet({"2026": KeySet.generate("2026").current_key, "2025": old.current_key}, "2026")
    case_id = uuid4()
    first, digest = Sealer(old).seal_event(StoredEvent(case_id, 1, "t", b"a"), GENESIS)
    second, _ = Sealer(new).seal_event(StoredEvent(case_id, 2, "t", b"b"), digest)
    assert problems([first, second], Sealer(new)) == []
    assert SEALER.open(second).key_id == "2026"
