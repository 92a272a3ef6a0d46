"""Where the service's keys come from: the environment, or in development a key file; and
where its data keys live: a ring of their own, which the service rotates.

In production the seal and signing keys are settings (MEDIATION_SEAL_KEYS,
MEDIATION_SIGNING_KEY), held outside the database. With SQLite and none set, the first start
makes a key file beside the database file, readable by its owner only, and says so: a newcomer
gets a working service, and the file can later be moved into a secret store. The data keys are
in MEDIATION_DATA_KEYS_FILE (beside the SQLite file by default), made and rotated by the
service; a MEDIATION_DATA_KEYS setting from before only seeds that ring.
"""

from __future__ import annotations

import base64
import json
from dataclasses import replace
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding
from cryptography.hazmat.primitives.serialization import NoEncryption
from cryptography.hazmat.primitives.serialization import PrivateFormat

from application.data_keys import DataKeyRing
from application.data_keys import MemoryDataKeyRing
from application.keys import Keys
from application.keys import KeySet
from infrastructure.data_key_file import DataKeyFile
from infrastructure.secret_files import check_owner_only
from infrastructure.secret_files import write_secret_file
from infrastructure.settings import Settings
from infrastructure.settings import SettingsError
from infrastructure.settings import Store
from infrastructure.settings import parse_key_set
from infrastructure.settings import parse_signing_key


def keys_for(settings: Settings, *, create: bool = True) -> tuple[Keys, str | None]:
    """The keys, and a message to show when they were just made."""
    if settings.seal_keys and settings.signing_key:
        return Keys(settings.seal_keys, settings.signing_key, settings.data_keys), None
    if settings.store is Store.MEMORY:
        return Keys.generate(), None
    path = key_file_path(settings)
    if path.exists():
        return read_key_file(path), None
    if not create:
        raise SettingsError(f"MEDIATION_KEYS_FILE: no keys yet ({path} does not exist)")
    keys = Keys.generate()
    write_key_file(path, keys)
    return keys, (
        f"No keys set: made development keys in {path} (owner-only). Keep a copy outside this "
        "machine: without it the history cannot be verified. In production set "
        "MEDIATION_SEAL_KEYS and MEDIATION_SIGNING_KEY."
    )


def data_key_ring(settings: Settings) -> DataKeyRing:
    """The ring of data keys the settings name (made on the application's first start)."""
    if settings.store is Store.MEMORY:
        return MemoryDataKeyRing()
    return DataKeyFile(data_key_file_path(settings))


def data_key_file_path(settings: Settings) -> Path:
    if settings.data_keys_file is not None:
        return settings.data_keys_file
    database = settings.sqlite_path
    assert database is not None, "PostgreSQL settings name their data key file (settings.py)"
    return database.with_name(database.name + ".data-keys.json")


def forget_seeded_data_keys(settings: Settings) -> None:
    """Once a new ring holds the data keys of a development key file, remove them from that
    file: the ring alone must hold them, or destroying one at a rotation would not destroy it."""
    if settings.seal_keys and settings.signing_key:
        return
    path = key_file_path(settings)
    if path.exists() and read_key_file(path).data is not None:
        write_key_file(path, replace(read_key_file(path), data=None))


def key_file_path(settings: Settings) -> Path:
    if settings.keys_file is not None:
        return settings.keys_file
    database = settings.sqlite_path
    assert database is not None
    return database.with_name(database.name + ".keys.json")


def render_key_set(keys: KeySet) -> str:
    ordered = [keys.current, *(k for k in keys.keys if k != keys.current)]
    return ",".join(f"{k}:{base64.b64encode(keys.keys[k]).decode()}" for k in ordered)


def render_signing_key(keys: Keys) -> str:
    raw = keys.signing.private_bytes(Encoding.Raw, PrivateFormat.Raw, NoEncryption())
    return base64.b64encode(raw).decode()


def as_environment(keys: Keys) -> dict[str, str]:
    settings = {
        "MEDIATION_SEAL_KEYS": render_key_set(keys.seal),
        "MEDIATION_SIGNING_KEY": render_signing_key(keys),
    }
    if keys.data is not None:
        settings["MEDIATION_DATA_KEYS"] = render_key_set(keys.data)
    return settings


def write_key_file(path: Path, keys: Keys) -> None:
    write_secret_file(path, json.dumps(as_environment(keys), indent=2) + "\n")


def read_key_file(path: Path) -> Keys:
    check_owner_only(path, "MEDIATION_KEYS_FILE", path.stat().st_mode)
    try:
        values = json.loads(path.read_text())
        legacy = values.get("MEDIATION_DATA_KEYS")
        return Keys(
            seal=parse_key_set(values["MEDIATION_SEAL_KEYS"]),
            signing=parse_signing_key(values["MEDIATION_SIGNING_KEY"]),
            data=None if legacy is None else parse_key_set(legacy),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise SettingsError(f"MEDIATION_KEYS_FILE: {path} is not a key file ({error})") from None
