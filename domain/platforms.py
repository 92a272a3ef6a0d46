"""Platform names as people write them, normalised to one canonical key per platform.

"Amazon", "amazon.fr" and "Amazon Marketplace" are one platform: statistics per platform are
only worth reading if every spelling lands on the same key. An unknown platform is kept as a
clean slug of what was written, so a new marketplace needs no code change to be counted.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

from domain.errors import InvalidValue
from domain.values import MAX_NAME_LENGTH, PersonalText

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

_ALIASES: dict[str, str] = {
    alias: key for key, (_, aliases) in KNOWN_PLATFORMS.items() for alias in aliases
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
    def parse(cls, text: str) -> Platform:
        if not isinstance(text, str) or not text.strip():
            raise InvalidValue("platform", "platform must not be empty")
        written = text.strip()
        if len(written) > MAX_NAME_LENGTH:
            raise InvalidValue("platform", f"platform is longer than {MAX_NAME_LENGTH} characters")
        return cls(key=platform_key(written), reported_as=PersonalText(written))


def display_name(key: str) -> str:
    """How a platform is named in figures: a known platform's name, else its key (never what a
    reporter wrote, which is personal data)."""
    known = KNOWN_PLATFORMS.get(key)
    return known[0] if known else key


def platform_key(text: str) -> str:
    """The canonical key of a platform name: a known platform's key, or a clean slug."""
    slug = _slug(text)
    if not slug:
        raise InvalidValue("platform", f"{text!r} does not name a platform")
    for candidate in _candidates(slug):
        if candidate in _ALIASES:
            return _ALIASES[candidate]
    return slug.replace("-", "_")


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
