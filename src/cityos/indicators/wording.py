"""The words of a report in one language, and the citation numbering shared by its parts.

Sentences are templates in data (data/wording.yaml), so no city's text lives in code and a
language is added by adding its block. Numbers are written the language's way (grouping,
decimal mark, "million"/"mln") and every figure is followed by its citation markers, which
one `Citations` numbers in order of first use across narrative, tables, charts and messages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import cache
from importlib import resources
from typing import Any

import yaml

from .render import number

SECTIONS = ("sentences", "headings", "messages")


class WordingError(ValueError):
    """An unknown language, or a language block missing what English has."""


@dataclass(frozen=True, slots=True)
class Wording:
    language: str
    decimal: str
    group: str
    scales: tuple[tuple[float, str], ...]
    """Largest first: 3.01e12 is "3.01 trillion" when the scaled figure is exact."""
    months: tuple[str, ...]
    year_not_stated: str
    and_: str
    names: Mapping[str, str]
    themes: Mapping[str, str]
    indicators: Mapping[str, str]
    units: Mapping[str, str]
    sentences: Mapping[str, str]
    headings: Mapping[str, str]
    messages: Mapping[str, str]

    def name(self, text: str) -> str:
        """A place, country or phrase in this language; as given when not translated."""
        return self.names.get(text.lower(), text)

    def city(self, city_id: str) -> str:
        """A city id (lower case, as in the CSVs) as its name in this language."""
        return self.names.get(city_id.lower(), city_id.title())

    def theme(self, theme: str) -> str:
        return self.themes.get(theme, theme)

    def unit(self, unit: str) -> str:
        return self.units.get(unit, unit)

    def number(self, value: float) -> str:
        """A figure written in full unless a scale word states it exactly (1.097 billion)."""
        for scale, word in self.scales:
            scaled = value / scale
            if abs(scaled) >= 1 and abs(round(scaled, 3) - scaled) < 1e-9 * abs(scaled):
                text = f"{round(scaled, 3):,.3f}".rstrip("0").rstrip(".")
                return f"{self._local(text)} {word}"
        return self._local(number(value))

    def _local(self, text: str) -> str:
        return text.replace(",", "\0").replace(".", self.decimal).replace("\0", self.group)

    def quantity(self, value: float, unit: str) -> str:
        return f"{self.number(value)} {self.unit(unit)}".rstrip()

    def year(self, year: int | None) -> str:
        return str(year) if year is not None else self.year_not_stated

    def date(self, text: str) -> str:
        """An ISO date (2011-03-19) in words; a year or anything else as given."""
        parts = text.split("-")
        if len(parts) == 3 and all(p.isdigit() for p in parts):
            return f"{int(parts[2])} {self.months[int(parts[1]) - 1]} {parts[0]}"
        return text

    def listing(self, items: Iterable[str]) -> str:
        """ "a, b and c"."""
        items = list(items)
        if len(items) < 2:
            return "".join(items)
        return f"{', '.join(items[:-1])} {self.and_} {items[-1]}"

    def sentence(self, section: str, key: str, **fields: str) -> str:
        templates: Mapping[str, str] = getattr(self, section)
        return templates[key].format_map(fields)


class Citations:
    """Source → number, in order of first use; one instance per report so the numbers
    agree between its narrative, tables, charts and messages."""

    def __init__(self) -> None:
        self._numbers: dict[str, int] = {}

    def mark(self, sources: Iterable[str]) -> str:
        """The markers of `sources`, "[1][2]", numbering a new source on first use."""
        return "".join(f"[{self._numbers.setdefault(s, len(self._numbers) + 1)}]" for s in sources)

    @property
    def sources(self) -> list[str]:
        """The footnotes' sources: the n-th is cited as [n]."""
        return list(self._numbers)


def _strings(block: Any, where: str) -> dict[str, str]:
    if not isinstance(block, dict) or not all(isinstance(v, str) for v in block.values()):
        raise WordingError(f"{where} must map names to text")
    return {str(k): v for k, v in block.items()}


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
        decimal=str(block["decimal"]),
        group=str(block["group"]),
        scales=tuple((float(s), str(w)) for s, w in block["scales"]),
        months=tuple(str(m) for m in block["months"]),
        year_not_stated=str(block["year_not_stated"]),
        and_=str(block["and"]),
        **{
            key: _strings(block.get(key) or {}, f"{language}.{key}")
            for key in ("names", "themes", "indicators", "units", *SECTIONS)
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
