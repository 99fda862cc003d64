"""Routing: which department a case goes to, and a sentence saying why.

Rules are tried in order and the first that matches wins, so a city writes its special
cases (a district's own road crew, a flood-prone riverside) above its general ones. The
reason is kept with the case: an operator who disagrees can see which rule to change.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from cityos.governance.districts import District, Districts
from cityos.governance.grid import cell_contains, check_resolution, grid_cell, is_cell


@dataclass(frozen=True, slots=True)
class RoutingRule:
    """Send matching cases to `department`. Each given condition must hold; None (not
    given) holds for every case."""

    department: str
    categories: frozenset[str] | None = None
    districts: tuple[str, ...] | None = None
    """Names, Chinese names or codes: whatever `Districts.find` understands."""
    cells: tuple[str, ...] | None = None
    """H3 cells at the grid resolution or coarser; a case inside any of them matches."""

    def __post_init__(self) -> None:
        if self.categories is None and self.districts is None and self.cells is None:
            raise ValueError("a routing rule needs a category, a district or a cell")


@dataclass(frozen=True, slots=True)
class Routing:
    """Where a case goes, and the facts that decided it."""

    department: str
    district: str | None
    """The district's name: where the case lies, or else the district it was reported in."""
    cell: str | None
    """The case's H3 cell at the grid resolution, when its location is known."""
    reason: str
    rule: int | None = None
    """The number (from 1) of the rule that matched; None for the fallback."""


class Router:
    """Routes cases by category, district and grid cell."""

    def __init__(
        self,
        rules: Sequence[RoutingRule],
        fallback: str,
        districts: Districts,
        grid_resolution: int,
        department_names: Mapping[str, str] | None = None,
    ) -> None:
        """`department_names` (id → name) make the reasons readable; ids are used without."""
        self.rules = list(rules)
        self.fallback = fallback
        self.districts = districts
        self.grid_resolution = check_resolution(grid_resolution)
        self._names = dict(department_names or {})
        self._codes: list[frozenset[str] | None] = []
        for number, rule in enumerate(self.rules, start=1):
            for cell in rule.cells or ():
                if not is_cell(cell):
                    raise ValueError(f"routing rule {number}: {cell!r} is not an H3 cell")
            self._codes.append(self._district_codes(number, rule))

    def _district_codes(self, number: int, rule: RoutingRule) -> frozenset[str] | None:
        if rule.districts is None:
            return None
        codes = set()
        for name in rule.districts:
            found = self.districts.find(name)
            if found is None:
                raise ValueError(f"routing rule {number}: no district is called {name!r}")
            codes.add(found.code)
        return frozenset(codes)

    def route(
        self,
        category: str,
        location: tuple[float, float] | None,
        district: str | None = None,
    ) -> Routing:
        """Route a case of `category` at `location` (lon, lat), or reported in `district`
        when the location is unknown or outside the city."""
        found: District | None = None
        cell = None
        if location is not None:
            lon, lat = location
            cell = grid_cell(lon, lat, self.grid_resolution)
            found = self.districts.locate(lon, lat)
        if found is None and district:
            found = self.districts.find(district)
        district_name = found.name if found else (district or None)

        for number, (rule, codes) in enumerate(zip(self.rules, self._codes, strict=True), 1):
            if rule.categories is not None and category not in rule.categories:
                continue
            if codes is not None and (found is None or found.code not in codes):
                continue
            if rule.cells is not None and (
                cell is None or not any(cell_contains(c, cell) for c in rule.cells)
            ):
                continue
            facts = _facts(
                category,
                district_name if rule.districts is not None else None,
                cell if rule.cells is not None else None,
            )
            reason = (
                f"routed to {self._name(rule.department)} because {facts} "
                f"matches routing rule {number}"
            )
            return Routing(rule.department, district_name, cell, reason, number)

        facts = _facts(category, district_name, None)
        if district_name is None:
            facts += " (no district known)"
        reason = (
            f"routed to {self._name(self.fallback)} (the fallback) because no routing rule "
            f"matches {facts}"
        )
        return Routing(self.fallback, district_name, cell, reason)

    def _name(self, department: str) -> str:
        return self._names.get(department, department)


def _facts(category: str, district: str | None, cell: str | None) -> str:
    """The case's facts a rule looked at, as a phrase: "category pothole in district
    Yuzhong"."""
    phrase = f"category {category}"
    if district:
        phrase += f" in district {district}"
    if cell:
        phrase += f" in cell {cell}"
    return phrase
