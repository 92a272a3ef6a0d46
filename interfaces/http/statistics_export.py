"""GET /statistics/export.csv: the figures as a spreadsheet opens them.

Two tables, each a file of its own: the platforms (`table=platforms`, the default) and cases per
platform and category (`table=platform-category`). A file with one header row and rectangular
rows is what a spreadsheet opens, sorts, filters and pivots as it is, and what every CSV reader
expects; two tables stacked in one file would sort the second header row among the data, and
stop most readers at the blank line between them.

In French (`lang=fr`): `;` between fields and a decimal comma, as a French spreadsheet reads
them, a UTF-8 byte order mark so that it reads the accents right, French headers. In English:
`,` and `.`, no mark, the JSON answers' keys as headers. The figures are those of the JSON
answers, rounded alike (statistics_views): rates as fractions from 0 to 1 to 4 decimals, days to
1 decimal, an empty cell where there is nothing to measure. Platforms are named by their display
name, never as a reporter wrote them (personal data), their key beside it.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import Literal

from application.case_statistics import UNQUALIFIED
from application.case_statistics import UNSTATED
from domain.measures import Measure
from domain.platforms import display_name
from domain.values import CATEGORY_LABELS
from domain.values import Category
from domain.values import Outcome
from interfaces.http.statistics_views import PlatformFiguresView

Language = Literal["fr", "en"]


class Table(StrEnum):
    PLATFORMS = "platforms"
    PLATFORM_CATEGORY = "platform-category"


@dataclass(frozen=True)
class Column:
    english: str
    french: str
    value: Callable[[PlatformFiguresView], object]

    def header(self, lang: Language) -> str:
        return self.french if lang == "fr" else self.english


PLATFORM_NAMES = [
    Column("platform_name", "plateforme", lambda e: display_name(e.platform)),
    Column("platform", "clé_plateforme", lambda e: e.platform),
]

OUTCOME_FRENCH = {
    Outcome.RESOLVED: "résolu",
    Outcome.PARTIALLY_RESOLVED: "partiellement_résolu",
    Outcome.NOT_RESOLVED: "non_résolu",
    Outcome.WITHDRAWN: "retiré",
    Outcome.INADMISSIBLE: "irrecevable",
}


def _outcome(outcome: Outcome) -> Column:
    return Column(
        f"outcome_{outcome.value}",
        f"issue_{OUTCOME_FRENCH[outcome]}",
        lambda e: e.outcomes.get(outcome.value, 0),
    )


MEASURE_FRENCH = {
    Measure.DELISTING: "déréférencement",
    Measure.SUSPENSION: "suspension",
    Measure.TERMINATION: "résiliation",
    Measure.TERMS_CHANGE: "modification_des_conditions",
    Measure.FUNDS_WITHHELD: "fonds_bloqués",
    Measure.OTHER: "autre",
}


def _measure(key: str, french: str) -> Column:
    return Column(f"measure_{key}", f"mesure_{french}", lambda e: e.by_measure.get(key, 0))


PLATFORM_COLUMNS = [
    *PLATFORM_NAMES,
    Column("cases", "dossiers", lambda e: e.cases),
    Column("sent_to_platform", "saisies_de_la_plateforme", lambda e: e.sent),
    Column("answered", "réponses", lambda e: e.answered),
    Column("answered_on_time", "réponses_dans_les_délais", lambda e: e.answered_on_time),
    Column("silent", "silences", lambda e: e.silent),
    Column("escalated", "transmis_au_médiateur", lambda e: e.escalated),
    Column("answer_rate", "taux_de_réponse", lambda e: e.answer_rate.value),
    Column("on_time_rate", "taux_de_réponse_dans_les_délais", lambda e: e.on_time_rate.value),
    Column("silence_rate", "taux_de_silence", lambda e: e.silence_rate.value),
    Column(
        "escalation_rate",
        "taux_de_transmission_au_médiateur",
        lambda e: e.escalation_rate.value,
    ),
    Column(
        "median_days_to_first_answer",
        "délai_médian_de_réponse_jours",
        lambda e: e.median_days_to_first_answer,
    ),
    Column(
        "p90_days_to_first_answer",
        "délai_p90_de_réponse_jours",
        lambda e: e.p90_days_to_first_answer,
    ),
    Column(
        "median_days_to_resolution",
        "délai_médian_de_résolution_jours",
        lambda e: e.median_days_to_resolution,
    ),
    *(_outcome(outcome) for outcome in Outcome),
    Column("acknowledged", "accusés_de_réception", lambda e: e.acknowledged),
    Column(
        "acknowledgement_rate",
        "taux_d_accusé_de_réception",
        lambda e: e.acknowledgement_rate.value,
    ),
    Column(
        "median_days_to_acknowledgement",
        "délai_médian_d_accusé_de_réception_jours",
        lambda e: e.median_days_to_acknowledgement,
    ),
    Column("reminders_sent", "relances_envoyées", lambda e: e.reminders_sent),
    Column(
        "answered_after_reminder", "réponses_après_relance", lambda e: e.answered_after_reminder
    ),
    Column(
        "after_reminder_rate",
        "part_des_réponses_après_relance",
        lambda e: e.after_reminder_rate.value,
    ),
    Column(
        "statement_of_reasons_missing",
        "motivation_absente",
        lambda e: e.statement_of_reasons_missing,
    ),
    Column(
        "statement_of_reasons_partly",
        "motivation_partielle",
        lambda e: e.statement_of_reasons_partly,
    ),
    *(_measure(m.value, MEASURE_FRENCH[m]) for m in Measure),
    _measure(UNSTATED, "non_précisée"),
]


def _category(key: str, french: str) -> Column:
    return Column(key, french, lambda e: e.by_category.get(key, 0))


PLATFORM_CATEGORY_COLUMNS = [
    *PLATFORM_NAMES,
    *(_category(c.value, CATEGORY_LABELS[c][0]) for c in Category),
    _category(UNQUALIFIED, "Non qualifié"),
    Column("cases", "dossiers", lambda e: e.cases),
]

COLUMNS = {Table.PLATFORMS: PLATFORM_COLUMNS, Table.PLATFORM_CATEGORY: PLATFORM_CATEGORY_COLUMNS}
FILE_NAMES = {
    (Table.PLATFORMS, "fr"): "statistiques",
    (Table.PLATFORMS, "en"): "statistics",
    (Table.PLATFORM_CATEGORY, "fr"): "statistiques-plateformes-categories",
    (Table.PLATFORM_CATEGORY, "en"): "statistics-platforms-categories",
}


def file_name(table: Table, lang: Language, first: date, last: date) -> str:
    """`statistiques-2026-01-01_2026-12-02.csv`: what, and the days reported it covers."""
    return f"{FILE_NAMES[(table, lang)]}-{first.isoformat()}_{last.isoformat()}.csv"


def cell(value: object, lang: Language) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        text = repr(value)  # already rounded: the shortest form has no more decimals
        return text.replace(".", ",") if lang == "fr" else text
    return str(value)


def csv_text(table: Table, lang: Language, platforms: list[PlatformFiguresView]) -> str:
    columns = COLUMNS[table]
    out = io.StringIO()
    if lang == "fr":
        out.write("\ufeff")
    writer = csv.writer(out, delimiter=";" if lang == "fr" else ",")
    writer.writerow([column.header(lang) for column in columns])
    for entry in platforms:
        writer.writerow([cell(column.value(entry), lang) for column in columns])
    return out.getvalue()
