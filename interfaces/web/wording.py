"""Messages said from Python in a page's language: translated, their dates written as the
page's `day` filter writes them."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date
from typing import Any

from babel.dates import format_date
from babel.numbers import format_decimal

from interfaces.web.catalogues import translations


def N_(message: str) -> str:  # noqa: N802 (the name the message extractors know)
    """Marks a message for the catalogues; it is translated where it is said."""
    return message


def wording(language: str) -> Callable[..., str]:
    """`say(message, **values)`: the message in `language`, its values filled in (a date as
    "17 mars 2026", a number as "10 000")."""
    words = translations(language)

    def shown(value: Any) -> Any:
        if isinstance(value, date):
            return format_date(value, format="long", locale=language)
        if isinstance(value, int) and not isinstance(value, bool):
            return format_decimal(value, locale=language)
        return value

    def say(message: str, **values: Any) -> str:
        return words.gettext(message) % {name: shown(v) for name, v in values.items()}

    return say
