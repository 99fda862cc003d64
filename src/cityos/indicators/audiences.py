"""Audiences of a strengths report and the cited city↔place links that speak to them.

A link is one cited fact tying a city to a place (a border terminal, a port, a country), of a
kind the wording has a sentence for (data/wording.yaml, `messages`). An audience is a reader
(Polish investors) with a language and the countries and places that make a link theirs, so
"localized" means the reader's own geography, in the reader's language, from data: a new
city's links CSV gives its own messages.

Links CSV columns: city, kind, place, countries (";"-separated), to, via (";"-separated),
value, unit, date (YYYY or YYYY-MM-DD), source (the publisher), note; to, via, value, unit,
date and note may be empty; optional title, published, url complete the bibliography entry.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from .reference import ReferenceError, Source
from .wording import Citations, Wording, wording

LINK_COLUMNS = ("city", "kind", "place", "countries", "source")
"""The columns every row must fill."""
OPTIONAL = ("to", "via", "value", "unit", "date", "note")


class AudienceError(ValueError):
    """An unknown audience (the message lists the known ones) or a bad audiences file."""


@dataclass(frozen=True, slots=True)
class Audience:
    id: str
    name: str
    language: str
    country: str
    countries: tuple[str, ...]
    places: tuple[str, ...]

    def takes(self, link: Link) -> bool:
        """A link is the audience's when it touches one of its countries or places; an
        audience naming neither takes every link."""
        if not self.countries and not self.places:
            return True
        return bool(set(link.countries) & set(self.countries)) or bool(
            {link.place, link.to} & set(self.places)
        )


def parse_audiences(document: Any, name: str = "audiences.yaml") -> dict[str, Audience]:
    entries = document.get("audiences") if isinstance(document, dict) else None
    if not isinstance(entries, dict):
        raise AudienceError(f"{name}: no `audiences` mapping")
    audiences: dict[str, Audience] = {}
    for key, entry in entries.items():
        if not isinstance(entry, dict) or not entry.get("name") or not entry.get("language"):
            raise AudienceError(f"{name}, {key}: needs a name and a language")
        audiences[str(key)] = Audience(
            id=str(key),
            name=str(entry["name"]),
            language=str(entry["language"]),
            country=str(entry.get("country") or ""),
            countries=tuple(str(c) for c in entry.get("countries") or ()),
            places=tuple(str(p) for p in entry.get("places") or ()),
        )
    return audiences


@cache
def packaged_audiences() -> dict[str, Audience]:
    text = resources.files("cityos.indicators").joinpath("data/audiences.yaml").read_text("utf-8")
    return parse_audiences(yaml.safe_load(text))


def audience(audience_id: str, known: dict[str, Audience] | None = None) -> Audience:
    """The audience `audience_id`, or an error that lists the known ones."""
    known = known if known is not None else packaged_audiences()
    if audience_id not in known:
        raise AudienceError(
            f"unknown audience {audience_id!r}; known audiences: {', '.join(sorted(known))}"
        )
    return known[audience_id]


@dataclass(frozen=True, slots=True)
class Link:
    city: str
    kind: str
    place: str
    countries: tuple[str, ...]
    to: str
    via: tuple[str, ...]
    value: float | None
    unit: str
    date: str
    source: Source
    note: str = ""


def _split(text: str) -> tuple[str, ...]:
    return tuple(part.strip() for part in text.split(";") if part.strip())


def _link(where: str, row: dict[str, str | None], kinds: Iterable[str]) -> Link | list[str]:
    cells = {key: (value or "").strip() for key, value in row.items() if key is not None}
    problems = [f"{where}: {c} is empty" for c in LINK_COLUMNS if not cells.get(c)]
    kinds = list(kinds)
    if cells.get("kind") and cells["kind"] not in kinds:
        problems.append(f"{where}: unknown kind {cells['kind']!r}; known: {', '.join(kinds)}")
    value: float | None = None
    if cells.get("value"):
        try:
            value = float(cells["value"])
        except ValueError:
            problems.append(f"{where}: value {cells['value']!r} is not a number")
    if problems:
        return problems
    return Link(
        city=cells["city"].lower(),
        kind=cells["kind"],
        place=cells["place"],
        countries=_split(cells["countries"]),
        to=cells.get("to", ""),
        via=_split(cells.get("via", "")),
        value=value,
        unit=cells.get("unit", ""),
        date=cells.get("date", ""),
        source=Source(
            cells.get("title", ""),
            cells["source"],
            cells.get("published", ""),
            cells.get("url", ""),
        ),
        note=cells.get("note", ""),
    )


def parse_links(name: str, lines: Iterable[str]) -> list[Link]:
    """The links of one CSV text; every problem is collected before raising."""
    reader = csv.DictReader(lines)
    absent = [c for c in (*LINK_COLUMNS, *OPTIONAL) if c not in (reader.fieldnames or ())]
    if absent:
        raise ReferenceError([f"{name}, row 1: missing column(s) {', '.join(absent)}"])
    kinds = list(wording("en").messages)
    links: list[Link] = []
    problems: list[str] = []
    for number, row in enumerate(reader, 2):
        parsed = _link(f"{name}, row {number}", row, kinds)
        if isinstance(parsed, list):
            problems.extend(parsed)
        else:
            links.append(parsed)
    if problems:
        raise ReferenceError(problems)
    return links


def load_links(path: Path) -> list[Link]:
    with path.open(encoding="utf-8", newline="") as file:
        return parse_links(str(path), file)


def packaged_links() -> list[Link]:
    """The cited links shipped with cityos (Chongqing's freight corridor)."""
    text = resources.files("cityos.indicators").joinpath("data/links.csv").read_text("utf-8")
    return parse_links("links.csv", io.StringIO(text))


@dataclass(frozen=True, slots=True)
class Message:
    text: str
    """In the audience's language."""
    english: str | None
    """The same in English, when the audience's language is another."""
    link: Link


def _message(link: Link, words: Wording, citations: Citations) -> str:
    value = words.quantity(link.value, link.unit) if link.value is not None else ""
    return words.sentence(
        "messages",
        link.kind,
        city=words.city(link.city),
        place=words.name(link.place),
        country=words.listing(words.name(c) for c in link.countries),
        to=words.name(link.to),
        via=", ".join(words.name(v) for v in link.via),
        value=value,
        date=words.date(link.date),
        cite=citations.mark([link.source]),
    )


def messages(
    city: str,
    reader: Audience,
    links: Sequence[Link],
    citations: Citations,
) -> list[Message]:
    """The city's links that are the reader's, in the reader's language whatever the
    report's, and in English beside it; markers numbered by the report's `citations`."""
    words = wording(reader.language)
    english = wording("en") if words.language != "en" else None
    found: list[Message] = []
    for link in links:
        if link.city != city.lower() or not reader.takes(link):
            continue
        text = _message(link, words, citations)
        found.append(Message(text, _message(link, english, citations) if english else None, link))
    return found
