"""Platform names as people write them, normalised to one canonical key per platform.

"Amazon", "amazon.fr" and "Amazon Marketplace" are one platform: statistics per platform are
only worth reading if every spelling lands on the same key. An unknown platform is kept as a
clean slug of what was written, so a new marketplace needs no code change to be counted.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Iterable
from collections.abc import Iterator
from dataclasses import dataclass

from domain.errors import InvalidValue
from domain.values import MAX_NAME_LENGTH
from domain.values import PersonalText
from domain.values import parse_email

# Canonical key -> display name and the spellings that mean it (already slugged, see _slug).
KNOWN_PLATFORMS: dict[str, tuple[str, tuple[str, ...]]] = {
    "amazon": (
        "Amazon",
        (
            "amazon",
            "amazon-fr",
            "amazon-com",
            "amazon-marketplace",
            "amazon-seller-central",
            "seller-central",
            "amazon-europe",
            "amazon-eu",
            "amazon-services-europe",
        ),
    ),
    "cdiscount": (
        "Cdiscount",
        ("cdiscount", "cdiscount-com", "c-discount", "cdiscount-marketplace"),
    ),
    "ebay": ("eBay", ("ebay", "ebay-fr", "ebay-com", "e-bay")),
    "fnac_darty": (
        "Fnac Darty",
        (
            "fnac",
            "fnac-com",
            "darty",
            "darty-com",
            "fnac-darty",
            "fnacdarty",
            "fnac-marketplace",
            "darty-marketplace",
        ),
    ),
    "rakuten": (
        "Rakuten",
        (
            "rakuten",
            "rakuten-fr",
            "rakuten-france",
            "priceminister",
            "price-minister",
            "rakuten-priceminister",
        ),
    ),
    "manomano": ("ManoMano", ("manomano", "mano-mano", "manomano-fr", "manomano-pro")),
    "leboncoin": ("Leboncoin", ("leboncoin", "le-bon-coin", "leboncoin-fr", "lbc")),
    "etsy": ("Etsy", ("etsy", "etsy-com")),
    "google_shopping": (
        "Google Shopping",
        ("google-shopping", "google-merchant-center", "merchant-center", "google-merchant"),
    ),
    "apple_app_store": (
        "Apple App Store",
        (
            "app-store",
            "apple-app-store",
            "apple-appstore",
            "appstore",
            "itunes-connect",
            "app-store-connect",
        ),
    ),
    "google_play": (
        "Google Play",
        ("google-play", "google-play-store", "play-store", "playstore", "google-playstore"),
    ),
    "booking_com": ("Booking.com", ("booking", "booking-com", "bookingcom")),
    "airbnb": ("Airbnb", ("airbnb", "airbnb-fr", "airbnb-com", "air-bnb")),
    "uber_eats": ("Uber Eats", ("uber-eats", "ubereats", "ubereats-com", "uber-eats-fr")),
    "deliveroo": ("Deliveroo", ("deliveroo", "deliveroo-fr", "deliveroo-com")),
    "vinted": ("Vinted", ("vinted", "vinted-fr", "vinted-com")),
    "zalando": ("Zalando", ("zalando", "zalando-fr", "zalando-partner-program")),
    "aliexpress": ("AliExpress", ("aliexpress", "ali-express", "aliexpress-com")),
    "meta": (
        "Meta",
        (
            "facebook",
            "facebook-marketplace",
            "instagram",
            "instagram-shopping",
            "meta",
            "facebook-shops",
        ),
    ),
    "tripadvisor": ("Tripadvisor", ("tripadvisor", "trip-advisor", "tripadvisor-fr")),
    "just_eat": ("Just Eat", ("just-eat", "justeat", "just-eat-fr")),
    "veepee": ("Veepee", ("veepee", "vente-privee", "venteprivee")),
    "back_market": ("Back Market", ("back-market", "backmarket", "backmarket-fr")),
}

# Words that decorate a platform name without changing which platform it is.
_NOISE_SUFFIXES = ("-marketplace", "-france", "-fr", "-sarl", "-sas", "-inc", "-ltd")


@dataclass(frozen=True)
class Platform:
    """A platform as reported: its canonical key, and the name the reporter wrote (free text,
    so personal data: it is kept encrypted with the case's other personal data)."""

    key: str
    reported_as: PersonalText

    @property
    def display_name(self) -> str:
        return display_name(self.key)

    @classmethod
    def parse(cls, text: str, directory: PlatformDirectory | None = None) -> Platform:
        """What a reporter wrote, read by `directory` (the built-in platforms by default)."""
        if not isinstance(text, str) or not text.strip():
            raise InvalidValue("platform", "platform must not be empty")
        written = text.strip()
        if len(written) > MAX_NAME_LENGTH:
            raise InvalidValue("platform", f"platform is longer than {MAX_NAME_LENGTH} characters")
        key = (directory or BUILTIN_PLATFORMS).key_of(written)
        return cls(key=key, reported_as=PersonalText(written))


_KEY = re.compile(r"[a-z0-9]+(?:_[a-z0-9]+)*")


@dataclass(frozen=True)
class KnownPlatform:
    """A platform the service knows: its key (as in the figures and the tokens), its display
    name, the other names a report may give it, the addresses its cases are sent to, and
    whether it may use the portal. Its name and key are names of it too."""

    key: str
    name: str
    aliases: tuple[str, ...] = ()
    contacts: tuple[str, ...] = ()
    portal: bool = False

    @classmethod
    def parse(
        cls,
        *,
        key: str,
        name: str,
        aliases: Iterable[str] = (),
        contacts: Iterable[str] = (),
        portal: bool = False,
    ) -> KnownPlatform:
        """A platform as a deployment describes it; InvalidValue names the field at fault."""
        if not isinstance(key, str) or not _KEY.fullmatch(key) or len(key) > MAX_NAME_LENGTH:
            raise InvalidValue(
                "key",
                f'not a key (lower-case letters, digits and "_"): {_quoted(key)}',
            )
        checked_name = _name("name", name)
        checked_aliases = tuple(_name("aliases", alias) for alias in aliases)
        checked_contacts: list[str] = []
        for contact in contacts:
            try:
                address = parse_email(contact, "contacts").text
            except InvalidValue:
                raise InvalidValue(
                    "contacts", f"not an e-mail address: {_quoted(contact)}"
                ) from None
            if address in checked_contacts:
                raise InvalidValue("contacts", f"{_quoted(contact)} is given twice")
            checked_contacts.append(address)
        if not isinstance(portal, bool):
            raise InvalidValue("portal", f"true or false, not {_quoted(portal)}")
        return cls(key, checked_name, checked_aliases, tuple(checked_contacts), portal)

    def names(self) -> tuple[tuple[str, str], ...]:
        """Each name of this platform as a lookup reads it (see _slug), with the field that
        gave it: its key, its name, its aliases."""
        written = [("key", self.key), ("name", self.name), *(("aliases", a) for a in self.aliases)]
        return tuple((field, _slug(text)) for field, text in written if _slug(text))


def _quoted(value: object) -> str:
    """A value as the file wrote it: a string in double quotes, as TOML and JSON write it."""
    return json.dumps(value, ensure_ascii=False) if isinstance(value, str | bool) else repr(value)


def _name(field: str, value: str) -> str:
    if not isinstance(value, str):
        raise InvalidValue(field, f"text, not {_quoted(value)}")
    if not value.strip() or len(value) > MAX_NAME_LENGTH or not _slug(value):
        raise InvalidValue(field, f"not a platform name: {_quoted(value)}")
    return value.strip()


class PlatformDirectory:
    """The platforms the service knows, found by key or by any name a report may use (read as
    `platform_key` reads it). A name may belong to one platform only."""

    def __init__(self, platforms: Iterable[KnownPlatform] = ()) -> None:
        self._platforms: dict[str, KnownPlatform] = {}
        self._keys_by_name: dict[str, str] = {}
        for platform in platforms:
            self._add(platform)

    @classmethod
    def builtin(cls) -> PlatformDirectory:
        """The platforms of KNOWN_PLATFORMS, without contacts or portal."""
        return cls(
            KnownPlatform(key, name, aliases) for key, (name, aliases) in KNOWN_PLATFORMS.items()
        )

    def with_platform(self, platform: KnownPlatform) -> PlatformDirectory:
        """This directory with `platform` in place of any of the same key; InvalidValue when
        one of its names already names another platform."""
        return PlatformDirectory([*(p for p in self if p.key != platform.key), platform])

    def _add(self, platform: KnownPlatform) -> None:
        if platform.key in self._platforms:
            raise InvalidValue("key", f"the key {_quoted(platform.key)} is given twice")
        for field, name in platform.names():
            other = self._keys_by_name.get(name)
            if other is not None and other != platform.key:
                raise InvalidValue(
                    field, f"the name {_quoted(name)} already names the platform {_quoted(other)}"
                )
        self._platforms[platform.key] = platform
        for _, name in platform.names():
            self._keys_by_name[name] = platform.key

    def __iter__(self) -> Iterator[KnownPlatform]:
        return iter(self._platforms.values())

    def __len__(self) -> int:
        return len(self._platforms)

    def get(self, key: str) -> KnownPlatform | None:
        """The platform of this key, if known."""
        return self._platforms.get(key)

    def find(self, text: str) -> KnownPlatform | None:
        """The platform a name (as a report writes it) means, if known."""
        return self._platforms.get(self.key_of(text))

    def key_of(self, text: str) -> str:
        """The canonical key of a platform name: a known platform's key, or a clean slug."""
        slug = _slug(text)
        if not slug:
            raise InvalidValue("platform", f"{text!r} does not name a platform")
        for candidate in _candidates(slug):
            if candidate in self._keys_by_name:
                return self._keys_by_name[candidate]
        return slug.replace("-", "_")

    def display_name(self, key: str) -> str:
        """How a platform is named in figures: a known platform's name, else its key (never
        what a reporter wrote, which is personal data)."""
        known = self._platforms.get(key)
        return known.name if known else key


def display_name(key: str) -> str:
    """How a platform is named in figures: a built-in platform's name, else its key."""
    return BUILTIN_PLATFORMS.display_name(key)


def platform_key(text: str) -> str:
    """The canonical key of a platform name among the built-in platforms, or a clean slug."""
    return BUILTIN_PLATFORMS.key_of(text)


def _slug(text: str) -> str:
    """Lower-case ASCII words joined by '-': accents dropped, 'www.' and schemes removed."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    lowered = ascii_text.lower().strip()
    lowered = re.sub(r"^[a-z]+://", "", lowered)
    lowered = re.sub(r"^www\.", "", lowered)
    lowered = lowered.split("/", 1)[0] if "." in lowered.split("/", 1)[0] else lowered
    return re.sub(r"[^a-z0-9]+", "-", lowered).strip("-")[:MAX_NAME_LENGTH]


def _candidates(slug: str) -> list[str]:
    """The slug, then the slug without one decorative suffix or a country's domain ending."""
    candidates = [slug]
    for suffix in _NOISE_SUFFIXES:
        if slug.endswith(suffix):
            candidates.append(slug.removesuffix(suffix))
    tld = re.fullmatch(r"(.+)-(fr|com|de|es|it|be|co-uk|eu|net)", slug)
    if tld:
        candidates.append(tld.group(1))
    return candidates


BUILTIN_PLATFORMS = PlatformDirectory.builtin()
