"""Where the service's keys come from: the environment, or in development a key file.

In production the keys are settings (MEDIATION_SEAL_KEYS, MEDIATION_DATA_KEYS,
MEDIATION_SIGNING_KEY), held outside the database. With SQLite and no keys set, the first start
makes a key file beside the database file, readable by its owner only, and says so: a newcomer
gets a working service, and the file can later be moved into a secret store.
"""

from __future__ import annotations

import base64
import json
import os
import stat
from pathlib import Path

from cryptography.hazmat.primitives.serialization import Encoding, NoEncryption, PrivateFormat

from application.keys import Keys, KeySet
from infrastructure.settings import (
    Settings,
    SettingsError,
    Store,
    parse_key_set,
    parse_signing_key,
)


def keys_for(settings: Settings, *, create: bool = True) -> tuple[Keys, str | None]:
    """The keys, and a message to show when they were just made."""
    if settings.seal_keys and settings.data_keys and settings.signing_key:
        return Keys(settings.seal_keys, settings.data_keys, settings.signing_key), None
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
        "machine: without it the history cannot be verified nor personal data read. In "
        "production set MEDIATION_SEAL_KEYS, MEDIATION_DATA_KEYS and MEDIATION_SIGNING_KEY."
    )


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
    return {
        "MEDIATION_SEAL_KEYS": render_key_set(keys.seal),
        "MEDIATION_DATA_KEYS": render_key_set(keys.data),
        "MEDIATION_SIGNING_KEY": render_signing_key(keys),
    }


def write_key_file(path: Path, keys: Keys) -> None:
    content = json.dumps(as_environment(keys), indent=2) + "\n"
    # Created owner-only from the first byte: never a moment where others could read it.
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(content)


def read_key_file(path: Path) -> Keys:
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise SettingsError(f"MEDIATION_KEYS_FILE: {path} can be read by others; chmod 600 it")
    try:
        values = json.loads(path.read_text())
        return Keys(
            parse_key_set(values["MEDIATION_SEAL_KEYS"]),
            parse_key_set(values["MEDIATION_DATA_KEYS"]),
            parse_signing_key(values["MEDIATION_SIGNING_KEY"]),
        )
    except (ValueError, KeyError, TypeError) as error:
        raise SettingsError(f"MEDIATION_KEYS_FILE: {path} is not a key file ({error})") from None
