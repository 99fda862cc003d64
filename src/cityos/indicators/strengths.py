"""A city's core strengths against its peers, and the profile written from them.

Pure functions over a comparison (compare.py), so the ranks, comparability rules and
citations are the comparison's own. What a profile claims, and why:

- LEADS: the city is rank 1 on a row where at least two cities are ranked, i.e. compared on
  a comparable area, in one unit, within the indicator's year window. A tie is a shared lead.
- WHERE PEERS LEAD: the ranked rows a peer leads, kept so the profile is honest.
- DISTINCTIVE: rows where only the city has a value: nothing was beaten, never a lead.
- UNRANKED: the city has a value and a peer too, but not on a comparable basis: shown as
  context with the reason, never a lead.
- CONTEXT: the city's figures on indicators that are never ranked (population, area).
- GAPS: indicators a peer has a figure for and the city has none.

The sentences are templates (data/wording.yaml) filled with these facts: a new city's CSV
gets its own profile without a line of text written for it. A value's note stays in the
data: it is the data's internal remark, never printed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from .catalogue import THEMES, Catalogue, Indicator, catalogue
from .compare import Cell, Comparison, Row, compare
from .reference import ReferenceValue
from .wording import Citations, Wording, wording

Kind = Literal["lead", "shared", "peer", "distinctive", "unranked", "context"]


@dataclass(frozen=True, slots=True)
class Item:
    kind: Kind
    row: Row
    cell: Cell
    """The city's cell, with its citations."""
    leaders: tuple[Cell, ...] = ()
    """A peer lead: the peers at rank 1; a shared lead: the peers tied with the city."""
    others: tuple[Cell, ...] = ()
    """The ranked peers, best first (the city left out)."""


@dataclass(frozen=True, slots=True)
class ThemeStrengths:
    theme: str
    leads: list[Item] = field(default_factory=list)
    """Leads and shared leads."""
    peer_leads: list[Item] = field(default_factory=list)
    distinctive: list[Item] = field(default_factory=list)
    unranked: list[Item] = field(default_factory=list)
    context: list[Item] = field(default_factory=list)

    @property
    def items(self) -> list[Item]:
        return [*self.leads, *self.peer_leads, *self.distinctive, *self.unranked, *self.context]


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
    ranked = tuple(sorted((c for c in peers if c.rank is not None), key=lambda c: c.rank or 0))
    if cell.rank == 1:
        tied = tuple(c for c in ranked if c.rank == 1)
        return Item("shared" if tied else "lead", row, cell, tied, ranked)
    if cell.rank is not None:
        return Item("peer", row, cell, tuple(c for c in ranked if c.rank == 1), ranked)
    if cell.reason in (("indicator",), ("context",)):
        return Item("context", row, cell)
    if not peers:
        return Item("distinctive", row, cell)
    return Item("unranked", row, cell)


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
            "unranked": theme.unranked,
            "context": theme.context,
        }[item.kind].append(item)
    gaps = [row.indicator for row in comparison.rows if row.cells[city].value is None]
    return Profile(city, peer_ids, [t for t in by_theme.values() if t.items], gaps, comparison)


@dataclass(frozen=True, slots=True)
class Narrative:
    intro: str
    strengths: list[str]
    """One sentence per lead, with its evidence and citation; or one saying there is none."""
    peer_leads: list[str]
    distinctive: list[str]
    unranked: list[str]
    context: list[str]
    gaps: str
    sources: list[object]
    """The sources cited, the n-th as [n], in order of first use."""

    @property
    def paragraphs(self) -> list[str]:
        parts = [[self.intro, *self.strengths], self.peer_leads, self.distinctive]
        parts += [self.unranked, [*self.context, self.gaps]]
        return [" ".join(p for p in part if p) for part in parts if any(part)]


def indicator_name(indicator: Indicator, words: Wording) -> str:
    return words.indicators.get(indicator.id, indicator.name)


def figure(cell: Cell, words: Wording, citations: Citations) -> tuple[str, str]:
    """A cell's value with its unit (in its plural form) and bound, and its markers."""
    assert cell.value is not None
    return words.quantity(cell.value, cell.unit, cell.bound), citations.mark(cell.citations)


def reason(cell: Cell, words: Wording) -> str:
    """Why a value is not compared, in words."""
    if not cell.reason:
        return ""
    code, *args = cell.reason
    names = {"area": ["area"], "window": ["window", "newest"], "unit": ["unit"]}
    fields = dict(zip(names.get(code, ["area"]), args, strict=False))
    if "area" in fields:
        fields["area"] = words.area(fields["area"])
    if "unit" in fields:
        fields["unit"] = words.unit(fields["unit"])
    return words.sentence("reasons", code, **fields)


def _item_fields(item: Item, words: Wording, citations: Citations) -> dict[str, str]:
    value, cite = figure(item.cell, words, citations)
    return {
        "city": words.city(item.cell.city),
        "indicator": indicator_name(item.row.indicator, words),
        "value": value,
        "year": words.period(item.cell.period),
        "area": words.area(item.cell.area),
        "cite": cite,
        "reason": reason(item.cell, words),
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
    leader_value, leader_cite = figure(item.leaders[0], words, citations)
    fields = _item_fields(item, words, citations)
    return words.sentence(
        "sentences",
        "peer_lead",
        leader=words.listing(words.city(c.city) for c in item.leaders),
        leader_value=leader_value,
        leader_cite=leader_cite,
        **fields,
    )


def narrative(
    strengths: Profile, language: str | Wording = "en", citations: Citations | None = None
) -> Narrative:
    """The profile as sentences: a strength in a sentence each (or that there is none),
    where peers lead, what only the city reports, what is shown but not compared, the
    context and the gaps. Every figure is followed by its markers; `citations` carries the
    numbering on from (or into) the rest of a report."""
    words = wording(language) if isinstance(language, str) else language
    citations = citations if citations is not None else Citations()
    city = words.city(strengths.city)
    peers = words.listing(words.city(p) for p in strengths.peers)
    leads = [_lead(i, words, citations) for i in strengths.items("lead", "shared")]

    def said(kind: Kind, key: str) -> list[str]:
        return [
            words.sentence("sentences", key, **_item_fields(i, words, citations))
            for i in strengths.items(kind)
        ]

    gaps = ""
    if strengths.gaps:
        names = words.listing(indicator_name(i, words) for i in strengths.gaps)
        gaps = words.sentence("sentences", "gaps", city=city, indicators=names)
    return Narrative(
        intro=words.sentence("sentences", "intro", city=city, peers=peers),
        strengths=leads or [words.sentence("sentences", "no_leads", city=city)],
        peer_leads=[_peer_lead(i, words, citations) for i in strengths.items("peer")],
        distinctive=said("distinctive", "distinctive"),
        unranked=said("unranked", "unranked"),
        context=said("context", "context"),
        gaps=gaps,
        sources=list(citations.sources),
    )
