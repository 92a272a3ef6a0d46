"""The keys the service holds outside its database and never changes itself.

- seal keys: HMAC keys that seal every stored event (a key id in each seal, so keys rotate);
- the signing key: Ed25519, signs checkpoints and dossiers so anyone can verify them offline.

New seals use the current seal key; older ones stay to verify. The data keys, which wrap each
case's own key, are not among them: the service rotates those itself (application.data_keys).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.hazmat.primitives.serialization import PublicFormat

KEY_BYTES = 32


class UnknownKey(LookupError):
    """A seal or a wrapped key names a key id this service does not hold."""


@dataclass(frozen=True)
class KeySet:
    """Symmetric keys by id; `current` is the one new material is protected with."""

    keys: Mapping[str, bytes]
    current: str

    def __post_init__(self) -> None:
        if self.current not in self.keys:
            raise ValueError(f"the current key {self.current!r} is not among the keys")
        for key_id, key in self.keys.items():
            if not key_id or len(key_id.encode()) > 64:
                raise ValueError("a key id is 1 to 64 bytes")
            if len(key) != KEY_BYTES:
                raise ValueError(f"key {key_id!r} is not {KEY_BYTES} bytes")

    def key(self, key_id: str) -> bytes:
        try:
            return self.keys[key_id]
        except KeyError:
            raise UnknownKey(key_id) from None

    @property
    def current_key(self) -> bytes:
        return self.keys[self.current]

    def __repr__(self) -> str:  # never print key material
        return f"KeySet(ids={sorted(self.keys)}, current={self.current!r})"

    @classmethod
    def generate(cls, key_id: str) -> KeySet:
        return cls({key_id: secrets.token_bytes(KEY_BYTES)}, key_id)


@dataclass(frozen=True)
class Keys:
    """The seal keys and the signing key the service holds."""

    seal: KeySet
    signing: Ed25519PrivateKey = field(repr=False)
    data: KeySet | None = None
    """Data keys given as a setting (MEDIATION_DATA_KEYS): they only seed a new ring."""

    @property
    def verifying(self) -> Ed25519PublicKey:
        return self.signing.public_key()

    @property
    def verifying_key_hex(self) -> str:
        return public_key_hex(self.verifying)

    @classmethod
    def generate(cls) -> Keys:
        return cls(seal=KeySet.generate("seal-1"), signing=Ed25519PrivateKey.generate())


def public_key_hex(key: Ed25519PublicKey) -> str:
    return key.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
