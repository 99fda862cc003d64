"""The words of a report in one language, and the citation numbering shared by its parts.

Sentences are templates in data (data/wording.yaml), so no city's text lives in code and a
language is added by adding its block. Numbers, dates, lists and plurals follow the
language's CLDR rules through Babel ("2 603 pociągi", "5 pociągów", "19 marca 2011"); a unit
is translated with its plural forms (one, few, many, other). Every figure is followed by its
citation markers, which one `Citations` numbers in order of first use across narrative,
tables, charts and messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date
from functools import cache
from importlib import resources
from typing import Any

import yaml
from babel import Locale
from babel.dates import format_date
from babel.lists import format_list
from babel.numbers import format_decimal

from .reference import Source

SECTIONS = ("sentences", "headings", "messages", "areas", "reasons", "quality")


class WordingError(ValueError):
    """An unknown language, or a language block missing what English has."""


@dataclass(frozen=True, slots=True)
class Wording:
    language: str
    locale: str
    """The CLDR locale of numbers, dates, lists and plurals (pl_PL)."""
    scales: tuple[tuple[float, str], ...]
    """Largest first: 3.01e12 is "3.01 trillion" when the scaled figure is exact."""
    scaled_form: str
    """The plural form of a unit after a scale word ("mln pasażerów": many)."""
    year_not_stated: str
    names: Mapping[str, str]
    themes: Mapping[str, str]
    indicators: Mapping[str, str]
    units: Mapping[str, str | Mapping[str, str]]
    sentences: Mapping[str, str]
    headings: Mapping[str, str]
    messages: Mapping[str, str]
    areas: Mapping[str, str]
    reasons: Mapping[str, str]
    quality: Mapping[str, str]

    def name(self, text: str) -> str:
        """A place, country or phrase in this language; as given when not translated."""
        return self.names.get(text.lower(), text)

    def city(self, city_id: str) -> str:
        """A city id (lower case, as in the CSVs) as its name in this language."""
        return self.names.get(city_id.lower(), city_id.title())

    def theme(self, theme: str) -> str:
        return self.themes.get(theme, theme)

    def area(self, area: str | None) -> str:
        return self.areas.get(area or "", area or "")

    def unit(self, unit: str, value: float | None = None, scaled: bool = False) -> str:
        """The unit in this language, in the plural form `value` takes (CLDR)."""
        forms = self.units.get(unit, unit)
        if isinstance(forms, str):
            return forms
        if value is None:
            return forms.get("other", unit)
        form = self.scaled_form if scaled else self.plural_form(value)
        return forms.get(form) or forms.get("other") or unit

    def plural_form(self, value: float) -> str:
        """one, few, many or other: the CLDR plural category of `value` here."""
        number = int(value) if float(value).is_integer() else value
        return str(Locale.parse(self.locale).plural_form(number))

    def _scaled(self, value: float) -> tuple[str, bool]:
        """A scale word when it states the figure exactly in three decimals (1.097 billion),
        or, from a billion on, in six (3.014579 trillion, not 3,014.579 billion)."""
        for scale, word in self.scales:
            scaled = value / scale
            if abs(scaled) < 1:
                continue
            for digits in (3, 6) if abs(value) >= 1e9 else (3,):
                if abs(round(scaled, digits) - scaled) < 1e-9 * abs(scaled):
                    return f"{self.decimal(scaled, digits)} {word}", True
        return self.decimal(value), False

    def decimal(self, value: float, digits: int = 2) -> str:
        """Grouped digits, two decimals at most, the locale's marks (2 603; 5,86)."""
        pattern = "#,##0." + "#" * digits
        return format_decimal(round(value, digits), format=pattern, locale=self.locale)

    def number(self, value: float) -> str:
        """A figure written in full unless a scale word states it exactly (1.097 billion)."""
        return self._scaled(value)[0]

    def quantity(self, value: float, unit: str, bound: str = "") -> str:
        """Figure, unit in its plural form, and a bound's word ("more than 50 million")."""
        text, scaled = self._scaled(value)
        words = f"{text} {self.unit(unit, value, scaled)}".rstrip()
        if bound:
            return self.sentence("headings", f"bound{bound}", value=words)
        return words

    def year(self, year: int | None) -> str:
        return str(year) if year is not None else self.year_not_stated

    def period(self, text: str) -> str:
        """A value's year as shown ("c. 2024" is "ok. 2024" in Polish)."""
        if not text:
            return self.year_not_stated
        if text.startswith("c."):
            return self.sentence("headings", "circa", year=text[2:].strip())
        return text

    def date(self, text: str) -> str:
        """An ISO date (2011-03-19) in words; a year or anything else as given."""
        parts = text.split("-")
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            day = date(int(parts[0]), int(parts[1]), int(parts[2]))
            return format_date(day, format="long", locale=self.locale).removesuffix(" r.")
        return text

    def listing(self, items: Iterable[str]) -> str:
        """ "a, b and c", the locale's way."""
        items = list(items)
        if len(items) < 2:
            return "".join(items)
        return str(format_list(items, locale=self.locale))

    def sentence(self, section: str, key: str, **fields: str) -> str:
        templates: Mapping[str, str] = getattr(self, section)
        return templates[key].format_map(fields)


class Citations:
    """Source → number, in order of first use; one instance per report so the numbers
    agree between its narrative, tables, charts and messages."""

    def __init__(self) -> None:
        self._numbers: dict[Source, int] = {}

    def mark(self, sources: Iterable[Source]) -> str:
        """The markers of `sources`, "[1][2]", numbering a new source on first use."""
        return "".join(f"[{self._numbers.setdefault(s, len(self._numbers) + 1)}]" for s in sources)

    @property
    def sources(self) -> list[Source]:
        """The footnotes' sources: the n-th is cited as [n]."""
        return list(self._numbers)


def _strings(block: Any, where: str) -> dict[str, str]:
    if not isinstance(block, dict) or not all(isinstance(v, str) for v in block.values()):
        raise WordingError(f"{where} must map names to text")
    return {str(k): v for k, v in block.items()}


def _units(block: Any, where: str) -> dict[str, str | Mapping[str, str]]:
    """Unit → text, or → {one, few, many, other} plural forms."""
    if not isinstance(block, dict):
        raise WordingError(f"{where} must map units to text or plural forms")
    units: dict[str, str | Mapping[str, str]] = {}
    for key, value in block.items():
        units[str(key)] = value if isinstance(value, str) else _strings(value, f"{where}.{key}")
    return units


def parse_wording(document: Any, language: str) -> Wording:
    """One language block of a wording document, checked against the English one: a
    template missing in a language would otherwise fail in the middle of a report."""
    if not isinstance(document, dict) or language not in document:
        known = ", ".join(document) if isinstance(document, dict) else ""
        raise WordingError(f"unknown language {language!r}; known: {known}")
    block, english = document[language], document["en"]
    for section in SECTIONS:
        absent = set(english[section]) - set(block.get(section) or {})
        if absent:
            raise WordingError(f"{language}: {section} lacks {', '.join(sorted(absent))}")
    return Wording(
        language=language,
        locale=str(block["locale"]),
        scales=tuple((float(s), str(w)) for s, w in block["scales"]),
        scaled_form=str(block.get("scaled_form", "other")),
        year_not_stated=str(block["year_not_stated"]),
        units=_units(block.get("units") or {}, f"{language}.units"),
        **{
            key: _strings(block.get(key) or {}, f"{language}.{key}")
            for key in ("names", "themes", "indicators", *SECTIONS)
        },
    )


@cache
def _document() -> Any:
    text = resources.files("cityos.indicators").joinpath("data/wording.yaml").read_text("utf-8")
    return yaml.safe_load(text)


def languages() -> list[str]:
    return list(_document())


@cache
def wording(language: str) -> Wording:
    """The packaged wording of `language` (en, pl)."""
    return parse_wording(_document(), language)
