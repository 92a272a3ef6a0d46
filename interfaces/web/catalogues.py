"""The pages' words: English in the templates and the code, French in message catalogues.

Each part of the site keeps its own catalogue (`locales/fr/LC_MESSAGES/<part>.po`: `site` for
the layout, then one per part), all merged into one translation per language at start. A test
extracts every message of the templates and the web modules and fails on one without its French;
`python -m interfaces.web.catalogues` prints those as catalogue entries to fill in.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

from babel.messages.extract import extract_from_dir
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations
from babel.support import Translations

HERE = Path(__file__).parent
LOCALES = HERE / "locales"
LANGUAGES = ("fr", "en")
"""French first; English is the language of the templates themselves."""
SOURCE_LANGUAGE = "en"

EXTRACTION = [
    ("**.py", "python"),
    ("templates/**.html", "jinja2"),
    ("templates/**.svg", "jinja2"),
]


def catalogue_files(language: str) -> list[Path]:
    return sorted((LOCALES / language / "LC_MESSAGES").glob("*.po"))


@cache
def translations(language: str) -> NullTranslations:
    """The merged catalogues of `language` (the source language translates to itself)."""
    if language == SOURCE_LANGUAGE:
        return NullTranslations()
    merged = Translations()
    for path in catalogue_files(language):
        with path.open("rb") as po:
            catalogue = read_po(po, locale=language)
        compiled = io.BytesIO()
        write_mo(compiled, catalogue)
        compiled.seek(0)
        merged.merge(Translations(compiled))
    return merged


def extracted_messages() -> Iterator[tuple[str, tuple[str, ...]]]:
    """Every message the templates and web modules use: (where, its id and plural if any)."""
    options = {"templates/**.html": {"extensions": "jinja2.ext.i18n"}}
    for filename, lineno, message, _comments, _context in extract_from_dir(
        HERE, EXTRACTION, options_map=options
    ):
        ids = message if isinstance(message, tuple) else (message,)
        if ids[0]:
            yield f"{filename}:{lineno}", ids[:2]


def known_ids(language: str) -> set[str]:
    """The message ids `language`'s catalogues translate (a non-empty text)."""
    known = set()
    for path in catalogue_files(language):
        with path.open("rb") as po:
            for message in read_po(po, locale=language):
                text = message.string
                texts = text if isinstance(text, tuple) else (text,)
                ids = message.id if isinstance(message.id, tuple) else (message.id,)
                if ids[0] and all(texts):
                    known.add(str(ids[0]))
    return known


def untranslated(language: str) -> dict[tuple[str, ...], str]:
    """Message (id, plural) → where it is used, for each one `language` does not translate."""
    known = known_ids(language)
    return {ids: where for where, ids in extracted_messages() if ids[0] not in known}


def quoted(text: str) -> str:
    return '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'


def po_entry(ids: tuple[str, ...], where: str) -> str:
    """A catalogue entry to translate (a plural has two forms to fill in)."""
    lines = [f"#: {where}", f"msgid {quoted(ids[0])}"]
    if len(ids) > 1:
        lines += [f"msgid_plural {quoted(ids[1])}", 'msgstr[0] ""', 'msgstr[1] ""']
    else:
        lines.append('msgstr ""')
    return "\n".join(lines) + "\n"


def main() -> int:
    """Prints the entries each catalogue lacks; exits 1 if there are any."""
    missing = {lang: untranslated(lang) for lang in LANGUAGES if lang != SOURCE_LANGUAGE}
    for language, messages in missing.items():
        if messages:
            print(f"# {language}: {len(messages)} to translate\n")
        for ids, where in messages.items():
            print(po_entry(ids, where))
    return 1 if any(missing.values()) else 0


if __name__ == "__main__":
    sys.exit(main())
