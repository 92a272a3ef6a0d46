"""The service's settings, read from MEDIATION_* environment variables.

One class decides every setting and renders what the eventsourcing library reads, so nothing
else looks at the environment. Unsafe or contradictory values stop the start with a one-line
message naming the variable.
"""

from __future__ import annotations

import base64
import binascii
import re
from email.utils import getaddresses
from enum import Enum
from pathlib import Path
from typing import Annotated
from typing import Any
from urllib.parse import unquote
from urllib.parse import urlsplit

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import Field
from pydantic import PrivateAttr
from pydantic import ValidationError
from pydantic import field_validator
from pydantic import model_validator
from pydantic_settings import BaseSettings
from pydantic_settings import NoDecode
from pydantic_settings import SettingsConfigDict

from application.access import Credential
from application.access import Role
from application.data_keys import LONGEST_ROTATION_DAYS
from application.keys import KEY_BYTES
from application.keys import KeySet
from domain.deadlines import Deadlines
from domain.errors import InvalidValue
from domain.platforms import PlatformDirectory
from infrastructure.mail_transport import MailTarget
from infrastructure.mail_transport import parse_mail_url
from infrastructure.platforms_file import PlatformsFileError
from infrastructure.platforms_file import load_platforms

MIN_TOKEN_LENGTH = 16


class SettingsError(Exception):
    """A setting that cannot be used; its message is one line naming the variable."""


class Environment(Enum):
    """Production refuses what only development may use (short tokens)."""

    PRODUCTION = "production"
    DEVELOPMENT = "development"


class Store(Enum):
    """Which database keeps the events and the read models."""

    MEMORY = "memory"
    SQLITE = "sqlite"
    POSTGRES = "postgres"


class Settings(BaseSettings):
    """Every setting of the service, from MEDIATION_* variables."""

    model_config = SettingsConfigDict(
        env_prefix="MEDIATION_", extra="ignore", frozen=True, arbitrary_types_allowed=True
    )

    environment: Environment = Environment.PRODUCTION
    database_url: str = "sqlite:///mediation.db"
    database_schema: str = "public"
    database_pool_size: int = Field(default=5, ge=1, le=100)
    database_connect_timeout: int = Field(default=5, ge=1, le=120)
    tokens: Annotated[tuple[Credential, ...], NoDecode] = ()
    response_days_standard: int = Field(default=15, ge=1, le=365)
    response_days_urgent: int = Field(default=5, ge=1, le=365)
    grace_days_standard: int = Field(default=6, ge=0, le=365)
    grace_days_urgent: int = Field(default=2, ge=0, le=365)
    # The days after sending on which a silent platform is reminded ("7,14").
    reminder_days_standard: Annotated[tuple[int, ...], NoDecode] = (7, 14)
    reminder_days_urgent: Annotated[tuple[int, ...], NoDecode] = (2, 4)
    # How often the deadline process runs where the projections run; 0 turns the schedule off.
    deadlines_every_seconds: float = Field(default=3600, ge=0, le=86_400)
    seal_keys: Annotated[KeySet | None, NoDecode] = Field(default=None, repr=False)
    data_keys: Annotated[KeySet | None, NoDecode] = Field(default=None, repr=False)
    signing_key: Annotated[Ed25519PrivateKey | None, NoDecode] = Field(default=None, repr=False)
    keys_file: Path | None = None
    data_keys_file: Path | None = None
    # How often the processes that run the projections check whether a rotation is due.
    data_keys_check_every_seconds: float = Field(default=3600, ge=1, le=86_400)
    data_key_rotation_days: int = Field(
        default=LONGEST_ROTATION_DAYS, ge=1, le=LONGEST_ROTATION_DAYS
    )
    checkpoint_dir: Path = Path("checkpoints")
    retention_years: int = Field(default=5, ge=1, le=100)
    # For auditors who hold no secret: the public key dossiers must be signed with (hex).
    trusted_public_key: str | None = None
    run_projections: bool = True
    read_model_wait_seconds: float = Field(default=3.0, ge=0, le=30)
    # The largest request body accepted (1 MiB); a larger one is refused before it is read.
    max_body_bytes: int = Field(default=1_048_576, ge=1024, le=100 * 1_048_576)
    # How many requests of one process may wait for the read models at once (min_position).
    read_model_max_waiters: int = Field(default=100, ge=0, le=10_000)
    # The platforms' names, contacts and portal access (TOML); none: the built-in platforms.
    platforms_file: Path | None = None
    # Where e-mails go: smtp://user:password@host:port, smtps://… or folder:path (.eml files).
    mail_url: str = Field(default="folder:./outbox", repr=False)
    # The sender of every message.
    mail_from: str = "Médiation P2B <mediation@localhost>"
    # How long an SMTP server may take to answer before a delivery is tried again later.
    mail_timeout_seconds: float = Field(default=30, gt=0, le=600)
    # How often the processes that run the projections send the e-mails due (0: never).
    mail_every_seconds: float = Field(default=10, ge=0, le=3600)
    # How long a sender may take over a message before another sender may take it again.
    mail_lease_seconds: float = Field(default=300, ge=1, le=86_400)
    # Where people reach the service: the links in the e-mails (tracking page, portal).
    public_url: str = "http://127.0.0.1:8000"
    # A console session ends when unused for this long, and this long after it began, at most.
    session_idle_minutes: int = Field(default=30, ge=1, le=24 * 60)
    session_hours: int = Field(default=10, ge=1, le=7 * 24)
    # How often one client address may send the report form, and look up tracking codes (the
    # public pages; per process: several processes each count on their own).
    reports_per_hour: int = Field(default=10, ge=1, le=10_000)
    tracking_lookups_per_minute: int = Field(default=30, ge=1, le=10_000)

    _platforms: PlatformDirectory = PrivateAttr()

    @field_validator("seal_keys", "data_keys", mode="before")
    @classmethod
    def _parse_key_set(cls, value: Any) -> Any:
        return parse_key_set(value) if isinstance(value, str) else value

    @field_validator("signing_key", mode="before")
    @classmethod
    def _parse_signing_key(cls, value: Any) -> Any:
        return parse_signing_key(value) if isinstance(value, str) else value

    @field_validator("trusted_public_key")
    @classmethod
    def _check_public_key(cls, value: str | None) -> str | None:
        if value is None:
            return None
        try:
            Ed25519PublicKey.from_public_bytes(bytes.fromhex(value.strip()))
        except ValueError:
            raise ValueError("not the hex of a 32-byte Ed25519 public key") from None
        return value.strip().lower()

    @field_validator("reminder_days_standard", "reminder_days_urgent", mode="before")
    @classmethod
    def _parse_days(cls, value: Any) -> Any:
        if not isinstance(value, str):
            return value
        try:
            return tuple(int(day) for day in value.split(",") if day.strip())
        except ValueError:
            raise ValueError("days after sending, separated by commas: 7,14") from None

    @field_validator("tokens", mode="before")
    @classmethod
    def _parse_tokens(cls, value: Any) -> Any:
        if isinstance(value, str):
            return parse_tokens(value)
        return value

    @field_validator("database_url")
    @classmethod
    def _check_url(cls, value: str) -> str:
        store_of(value)
        return value

    @field_validator("mail_url")
    @classmethod
    def _check_mail_url(cls, value: str) -> str:
        parse_mail_url(value)
        return value.strip()

    @field_validator("public_url")
    @classmethod
    def _check_public_url(cls, value: str) -> str:
        parts = urlsplit(value.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc or parts.query:
            raise ValueError("an http(s) address, such as https://mediation.example.fr")
        return value.strip().rstrip("/")

    @field_validator("mail_from")
    @classmethod
    def _check_mail_from(cls, value: str) -> str:
        return check_sender(value)

    @field_validator("database_schema")
    @classmethod
    def _check_schema(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", value):
            raise ValueError("a schema name is lower-case letters, digits and '_'")
        return value

    @model_validator(mode="after")
    def _check_consistency(self) -> Settings:
        try:
            _ = self.deadlines  # Deadlines checks its values as it is built
        except InvalidValue as error:
            if "reminders" in error.field:
                variable = "MEDIATION_REMINDER_DAYS_" + error.field.split("_")[0].upper()
                raise ValueError(f"{variable}: {error.message}") from error
            raise ValueError(
                "MEDIATION_RESPONSE_DAYS_URGENT must not exceed MEDIATION_RESPONSE_DAYS_STANDARD"
            ) from error
        if self.session_idle_minutes > self.session_hours * 60:
            raise ValueError(
                "MEDIATION_SESSION_IDLE_MINUTES must not exceed MEDIATION_SESSION_HOURS "
                "(a session's whole lifetime)"
            )
        given = [k is not None for k in (self.seal_keys, self.signing_key)]
        if any(given) and not all(given):
            raise ValueError(
                "MEDIATION_SEAL_KEYS and MEDIATION_SIGNING_KEY go together: set both, or none "
                "to use a development key file"
            )
        if not any(given) and self.store is Store.POSTGRES:
            raise ValueError(
                "MEDIATION_SEAL_KEYS: PostgreSQL needs its keys from outside the database: set "
                "MEDIATION_SEAL_KEYS and MEDIATION_SIGNING_KEY (`mediation keys generate` "
                "prints a set)"
            )
        if self.data_keys_file is None and self.store is Store.POSTGRES:
            raise ValueError(
                "MEDIATION_DATA_KEYS_FILE: PostgreSQL needs a file for its data keys, outside "
                "the database, which the service rotates and every API and worker process of "
                "the deployment reads (e.g. /var/lib/mediation/data-keys.json)"
            )
        if self.environment is Environment.PRODUCTION:
            short = [c for c in self.tokens if len(c.token) < MIN_TOKEN_LENGTH]
            if short:
                raise ValueError(
                    f"MEDIATION_TOKENS: the token of {short[0].actor!r} is shorter than "
                    f"{MIN_TOKEN_LENGTH} characters (allowed only with "
                    "MEDIATION_ENVIRONMENT=development)"
                )
        try:
            self._platforms = load_platforms(self.platforms_file)
        except PlatformsFileError as error:
            raise ValueError(f"MEDIATION_PLATFORMS_FILE: {error}") from error
        for credential in self.tokens:
            if credential.platform is None:
                continue
            known = self._platforms.get(credential.platform)
            if known is None or not known.portal:
                raise ValueError(
                    f"MEDIATION_TOKENS: the token of {credential.actor!r} names a platform that "
                    "may not use the portal: give it `portal = true` in MEDIATION_PLATFORMS_FILE"
                )
        return self

    @property
    def store(self) -> Store:
        return store_of(self.database_url)

    @property
    def deadlines(self) -> Deadlines:
        return Deadlines(
            standard_days=self.response_days_standard,
            urgent_days=self.response_days_urgent,
            standard_grace_days=self.grace_days_standard,
            urgent_grace_days=self.grace_days_urgent,
            standard_reminders=self.reminder_days_standard,
            urgent_reminders=self.reminder_days_urgent,
        )

    @property
    def platforms(self) -> PlatformDirectory:
        """The platforms the service knows: the platforms file's over the built-in ones."""
        return self._platforms

    @property
    def mail_target(self) -> MailTarget:
        """Where e-mails go (MEDIATION_MAIL_URL), parsed."""
        return parse_mail_url(self.mail_url)

    @property
    def sqlite_path(self) -> Path | None:
        if self.store is not Store.SQLITE:
            return None
        return Path(sqlite_file(self.database_url))

    def eventsourcing_env(self) -> dict[str, str]:
        """The settings the eventsourcing library reads, for this store."""
        if self.store is Store.MEMORY:
            return {"PERSISTENCE_MODULE": "infrastructure.recorders:MediationPOPOFactory"}
        if self.store is Store.SQLITE:
            return {
                "PERSISTENCE_MODULE": "infrastructure.recorders:MediationSQLiteFactory",
                "SQLITE_DBNAME": sqlite_file(self.database_url),
                "SQLITE_LOCK_TIMEOUT": str(self.database_connect_timeout),
                "CREATE_TABLE": "y",
            }
        parts = urlsplit(self.database_url)
        return {
            "PERSISTENCE_MODULE": "infrastructure.recorders:MediationPostgresFactory",
            "POSTGRES_DBNAME": unquote(parts.path.lstrip("/")),
            "POSTGRES_HOST": parts.hostname or "localhost",
            "POSTGRES_PORT": str(parts.port or 5432),
            "POSTGRES_USER": unquote(parts.username or "postgres"),
            "POSTGRES_PASSWORD": unquote(parts.password or ""),
            "POSTGRES_SCHEMA": self.database_schema,
            "POSTGRES_CONNECT_TIMEOUT": str(self.database_connect_timeout),
            "POSTGRES_LOCK_TIMEOUT": str(self.database_connect_timeout),
            "POSTGRES_POOL_SIZE": str(self.database_pool_size),
            "POSTGRES_MAX_OVERFLOW": str(self.database_pool_size),
            "CREATE_TABLE": "y",
        }

    def describe_store(self) -> str:
        """Where the data lives, without the password."""
        if self.store is Store.POSTGRES:
            parts = urlsplit(self.database_url)
            return (
                f"PostgreSQL {parts.hostname}:{parts.port or 5432}/"
                f"{parts.path.lstrip('/')} (schema {self.database_schema})"
            )
        if self.store is Store.SQLITE:
            return f"SQLite {Path(sqlite_file(self.database_url)).resolve()}"
        return "memory (nothing is kept after the process ends)"


def store_of(url: str) -> Store:
    scheme = url.split(":", 1)[0].lower() if ":" in url else ""
    if scheme == "memory":
        return Store.MEMORY
    if scheme == "sqlite":
        if not url.startswith("sqlite:///") or not sqlite_file(url):
            raise ValueError("a SQLite URL is sqlite:///relative/path.db or sqlite:////abs/path.db")
        return Store.SQLITE
    if scheme in ("postgresql", "postgres", "postgresql+psycopg"):
        parts = urlsplit(url)
        if not parts.hostname or not parts.path.strip("/"):
            raise ValueError("a PostgreSQL URL is postgresql://user:password@host:port/dbname")
        try:
            parts.port  # noqa: B018 (parsing the port is the check)
        except ValueError as error:
            raise ValueError("the port of MEDIATION_DATABASE_URL is not a number") from error
        return Store.POSTGRES
    raise ValueError("MEDIATION_DATABASE_URL must start with sqlite:///, postgresql:// or memory:")


def sqlite_file(url: str) -> str:
    """The file of a sqlite:/// URL: relative after three slashes, absolute after four."""
    return url.removeprefix("sqlite:///").split("?", 1)[0]


def check_sender(text: str) -> str:
    """One address, with or without a display name: `Médiation P2B <mediation@example.fr>`."""
    addresses = getaddresses([text])
    if (
        len(addresses) != 1
        or "\n" in text
        or "\r" in text
        or not re.fullmatch(r"[^@\s]+@[^@\s]+", addresses[0][1])
    ):
        raise ValueError("one e-mail address, as mediation@example.fr or Name <mediation@…>")
    return text.strip()


def parse_tokens(text: str) -> tuple[Credential, ...]:
    """`token:role:actor` entries separated by commas; a platform's is `token:platform:<key>`
    (it acts as `platform:<key>`)."""
    credentials: list[Credential] = []
    seen: set[str] = set()
    for number, entry in enumerate(e.strip() for e in text.split(",") if e.strip()):
        parts = entry.split(":")
        if len(parts) != 3 or not all(p.strip() for p in parts):
            raise ValueError(f"entry {number + 1} is not token:role:actor")
        token, role_name, actor = (p.strip() for p in parts)
        try:
            role = Role(role_name)
        except ValueError:
            roles = ", ".join(r.value for r in Role)
            raise ValueError(
                f"entry {number + 1} has unknown role {role_name!r} ({roles})"
            ) from None
        if token in seen:
            raise ValueError(f"entry {number + 1} repeats a token already given")
        if not re.fullmatch(r"[A-Za-z0-9._~+/=-]+", token):
            raise ValueError(f"entry {number + 1}: a token is letters, digits and ._~+/=-")
        seen.add(token)
        if role is Role.PLATFORM:
            if not re.fullmatch(r"[a-z0-9_]+", actor):
                raise ValueError(f"entry {number + 1}: a platform token names the platform's key")
            credentials.append(
                Credential(token=token, role=role, actor=f"platform:{actor}", platform=actor)
            )
        else:
            credentials.append(Credential(token=token, role=role, actor=actor))
    return tuple(credentials)


def parse_key_set(text: str) -> KeySet:
    """`id:base64,id:base64`: 32-byte keys by id, the first being the current one."""
    keys: dict[str, bytes] = {}
    for number, entry in enumerate(e.strip() for e in text.split(",") if e.strip()):
        key_id, _, encoded = entry.partition(":")
        try:
            key = base64.b64decode(encoded.strip(), validate=True)
        except binascii.Error:
            raise ValueError(f"key {number + 1} is not id:base64") from None
        if not key_id.strip() or len(key) != KEY_BYTES:
            raise ValueError(f"key {number + 1} is not id:base64 of {KEY_BYTES} bytes")
        if key_id.strip() in keys:
            raise ValueError(f"key id {key_id.strip()!r} is given twice")
        keys[key_id.strip()] = key
    if not keys:
        raise ValueError("no key given")
    return KeySet(keys, next(iter(keys)))


def parse_signing_key(text: str) -> Ed25519PrivateKey:
    """The base64 of a 32-byte Ed25519 private key."""
    try:
        seed = base64.b64decode(text.strip(), validate=True)
        return Ed25519PrivateKey.from_private_bytes(seed)
    except (binascii.Error, ValueError):
        raise ValueError("not the base64 of a 32-byte Ed25519 private key") from None


def load_settings(**overrides: Any) -> Settings:
    """The settings from the environment (and overrides), or SettingsError in one line."""
    try:
        return Settings(**overrides)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(p) for p in first["loc"])
        variable = f"MEDIATION_{field.upper()}" if field else "settings"
        message = str(first["msg"]).removeprefix("Value error, ")
        if message.startswith("MEDIATION_"):
            raise SettingsError(message) from None
        raise SettingsError(f"{variable}: {message}") from None
