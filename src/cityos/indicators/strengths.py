"""A city's core strengths against its peers, and the profile written from them.

Pure functions over a comparison (compare.py), so the ranks, per-capita rules and citations
are the comparison's own. What a profile claims, and why:

- LEADS: the city is rank 1 on a row where at least two cities have a value. A lead needs a
  peer's figure to beat; a tie is a shared lead, said as such.
- WHERE PEERS LEAD: the rows a peer leads, kept so the profile is honest, not an advert.
- DISTINCTIVE: rows where only the city has a value. The catalogue's ranking gives it rank 1
  alone, but nothing was beaten, so it is never called a lead.
- CONTEXT: the city's neutral figures (population): said, never ranked.
- GAPS: indicators a peer has a figure for and the city has none on any basis.

The narrative is sentences from templates (data/wording.yaml) filled with these facts: a new
city's CSV gets its own profile without a line of text written for it.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from .catalogue import THEMES, Catalogue, Indicator, catalogue
from .compare import Cell, Comparison, Row, compare
from .reference import ReferenceValue
from .wording import Citations, Wording, wording

Kind = Literal["lead", "shared", "peer", "distinctive", "context"]


@dataclass(frozen=True, slots=True)
class Item:
    kind: Kind
    row: Row
    cell: Cell
    """The city's cell, with its citations and note."""
    leaders: tuple[Cell, ...] = ()
    """A peer lead: the peers at rank 1; a shared lead: the peers tied with the city."""
    others: tuple[Cell, ...] = ()
    """The peers with a value, best first (the city left out)."""


@dataclass(frozen=True, slots=True)
class ThemeStrengths:
    theme: str
    leads: list[Item] = field(default_factory=list)
    """Leads and shared leads."""
    peer_leads: list[Item] = field(default_factory=list)
    distinctive: list[Item] = field(default_factory=list)
    context: list[Item] = field(default_factory=list)

    @property
    def items(self) -> list[Item]:
        return [*self.leads, *self.peer_leads, *self.distinctive, *self.context]


@dataclass(frozen=True, slots=True)
class Profile:
    city: str
    peers: list[str]
    themes: list[ThemeStrengths]
    """Themes with at least one item, in the catalogue's theme order."""
    gaps: list[Indicator]
    comparison: Comparison

    def items(self, *kinds: Kind) -> list[Item]:
        return [i for t in self.themes for i in t.items if not kinds or i.kind in kinds]


def _classify(city: str, row: Row) -> Item | None:
    cell = row.cells[city]
    if cell.value is None:
        return None
    peers = [c for c in row.cells.values() if c.city != city and c.value is not None]
    if row.indicator.better == "neutral":
        return Item("context", row, cell)
    if not peers:
        return Item("distinctive", row, cell)
    others = tuple(sorted(peers, key=lambda c: c.rank or len(row.cells)))
    if cell.rank == 1:
        tied = tuple(c for c in peers if c.rank == 1)
        return Item("shared" if tied else "lead", row, cell, tied, others)
    leaders = tuple(c for c in peers if c.rank == 1)
    return Item("peer", row, cell, leaders, others)


def profile(
    city: str,
    peers: Sequence[str],
    values: Sequence[ReferenceValue],
    known: Catalogue | None = None,
) -> Profile:
    """The strengths of `city` among `peers` from the reference `values`."""
    city = city.lower()
    peer_ids = [p.lower() for p in peers if p.lower() != city]
    comparison = compare([city, *peer_ids], values, known or catalogue())
    by_theme: dict[str, ThemeStrengths] = {t: ThemeStrengths(t) for t in THEMES}
    for row in comparison.rows:
        item = _classify(city, row)
        if item is None:
            continue
        theme = by_theme[row.indicator.theme]
        {
            "lead": theme.leads,
            "shared": theme.leads,
            "peer": theme.peer_leads,
            "distinctive": theme.distinctive,
            "context": theme.context,
        }[item.kind].append(item)
    has_value: dict[str, set[str]] = {}
    for row in comparison.rows:
        for cell in row.cells.values():
            if cell.value is not None:
                has_value.setdefault(row.indicator.id, set()).add(cell.city)
    gaps = [
        row.indicator
        for row in comparison.rows
        if city not in has_value.get(row.indicator.id, set())
    ]
    return Profile(
        city,
        peer_ids,
        [t for t in by_theme.values() if t.items],
        list(dict.fromkeys(gaps)),
        comparison,
    )


@dataclass(frozen=True, slots=True)
class Narrative:
    paragraphs: list[str]
    sources: list[str]
    """The sources cited, the n-th as [n], in order of first use."""


def indicator_name(indicator: Indicator, words: Wording) -> str:
    return words.indicators.get(indicator.id, indicator.name)


def figure(cell: Cell, words: Wording, citations: Citations) -> tuple[str, str]:
    """A cell's value with its unit, and its citation markers."""
    assert cell.value is not None
    return words.quantity(cell.value, cell.unit), citations.mark(cell.citations)


def _item_fields(item: Item, words: Wording, citations: Citations) -> dict[str, str]:
    value, cite = figure(item.cell, words, citations)
    note = item.cell.note if item.cell.note and not item.row.indicator.derived else ""
    return {
        "city": words.city(item.cell.city),
        "indicator": indicator_name(item.row.indicator, words),
        "value": value,
        "year": words.year(item.cell.year),
        "basis": words.name(item.cell.basis or ""),
        "note": words.sentence("sentences", "note", note=note) if note else "",
        "cite": cite,
    }


def _lead(item: Item, words: Wording, citations: Citations) -> str:
    fields = _item_fields(item, words, citations)
    if item.kind == "shared":
        tied = words.listing(words.city(c.city) for c in item.leaders)
        return words.sentence("sentences", "lead_shared", tied=tied, **fields)
    others = []
    for cell in item.others:
        value, cite = figure(cell, words, citations)
        others.append(
            words.sentence("sentences", "other", city=words.city(cell.city), value=value, cite=cite)
        )
    return words.sentence("sentences", "lead", others=words.listing(others), **fields)


def _peer_lead(item: Item, words: Wording, citations: Citations) -> str:
    leader_value, _ = figure(item.leaders[0], words, citations)
    leader_cite = citations.mark(dict.fromkeys(s for cell in item.leaders for s in cell.citations))
    fields = _item_fields(item, words, citations)
    return words.sentence(
        "sentences",
        "peer_lead",
        leader=words.listing(words.city(c.city) for c in item.leaders),
        leader_value=leader_value,
        leader_basis=words.name(item.leaders[0].basis or ""),
        leader_cite=leader_cite,
        **fields,
    )


def narrative(
    strengths: Profile, language: str | Wording = "en", citations: Citations | None = None
) -> Narrative:
    """The profile as paragraphs: leads (or that there are none), where peers lead, what is
    distinctive, the context and the gaps. Every figure is followed by its markers;
    `citations` carries the numbering on from (or into) the rest of a report."""
    words = wording(language) if isinstance(language, str) else language
    citations = citations if citations is not None else Citations()
    city = words.city(strengths.city)
    peers = words.listing(words.city(p) for p in strengths.peers)
    leads = strengths.items("lead", "shared")
    first = [words.sentence("sentences", "intro", city=city, peers=peers)]
    first += [_lead(i, words, citations) for i in leads] or [
        words.sentence("sentences", "no_leads", city=city)
    ]
    paragraphs = [" ".join(first)]
    peer_leads = [_peer_lead(i, words, citations) for i in strengths.items("peer")]
    if peer_leads:
        paragraphs.append(" ".join(peer_leads))
    distinctive = [
        words.sentence("sentences", "distinctive", **_item_fields(i, words, citations))
        for i in strengths.items("distinctive")
    ]
    if distinctive:
        intro = words.sentence("sentences", "distinctive_intro", city=city)
        paragraphs.append(" ".join([intro, *distinctive]))
    closing = [
        words.sentence("sentences", "context", **_item_fields(i, words, citations))
        for i in strengths.items("context")
    ]
    if strengths.gaps:
        names = words.listing(indicator_name(i, words) for i in strengths.gaps)
        closing.append(words.sentence("sentences", "gaps", city=city, indicators=names))
    if closing:
        paragraphs.append(" ".join(closing))
    return Narrative(paragraphs, citations.sources)
