"""Reference values: figures about cities from published sources, imported from CSV.

Every value carries its source as cited and its year (blank only where the source states
none, and then shown as such). A figure the sources do not give has no row: it stays
missing, never filled in. `basis` says which population a value belongs to ("city proper",
"municipality"...), because dividing a municipality's figure by the city proper's population
(or the reverse) gives a wrong per-capita figure.

CSV columns: city, indicator, value, unit, year, basis, source, note (note optional).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from .catalogue import Catalogue, catalogue

COLUMNS = ("city", "indicator", "value", "unit", "year", "basis", "source")


class ReferenceError(ValueError):
    """Problems in a reference CSV, one line each naming the file and row."""

    def __init__(self, problems: Sequence[str]) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


@dataclass(frozen=True, slots=True)
class ReferenceValue:
    city: str
    indicator: str
    value: float
    unit: str
    year: int | None
    """None when the source states no year."""
    basis: str
    source: str
    note: str = ""


def _row(
    name: str, number: int, row: dict[str, str | None], known: Catalogue
) -> ReferenceValue | list[str]:
    where = f"{name}, row {number}"
    cells = {key: (value or "").strip() for key, value in row.items() if key is not None}
    problems = [f"{where}: {c} is empty" for c in COLUMNS if c != "year" and not cells.get(c)]
    indicator = cells.get("indicator", "")
    if indicator and indicator not in known:
        problems.append(f"{where}: unknown indicator {indicator!r}")
    elif indicator and known[indicator].derived:
        problems.append(f"{where}: {indicator} is derived; give its numerator and population")
    value: float | None = None
    try:
        value = float(cells.get("value", "")) if cells.get("value") else None
    except ValueError:
        problems.append(f"{where}: value {cells['value']!r} is not a number")
    year: int | None = None
    if cells.get("year"):
        try:
            year = int(cells["year"])
        except ValueError:
            problems.append(f"{where}: year {cells['year']!r} is not a year")
    if problems or value is None:
        return problems
    return ReferenceValue(
        city=cells["city"].lower(),
        indicator=indicator,
        value=value,
        unit=cells["unit"],
        year=year,
        basis=cells["basis"],
        source=cells["source"],
        note=cells.get("note", ""),
    )


def parse_reference(name: str, lines: Iterable[str], known: Catalogue) -> list[ReferenceValue]:
    """The values of one CSV text; every problem is collected before raising."""
    reader = csv.DictReader(lines)
    absent = [c for c in COLUMNS if c not in (reader.fieldnames or ())]
    if absent:
        raise ReferenceError([f"{name}, row 1: missing column(s) {', '.join(absent)}"])
    values: list[ReferenceValue] = []
    problems: list[str] = []
    seen: dict[tuple[str, str, str, int | None], int] = {}
    for number, row in enumerate(reader, 2):  # row 1 is the header
        parsed = _row(name, number, row, known)
        if isinstance(parsed, list):
            problems.extend(parsed)
            continue
        key = (parsed.city, parsed.indicator, parsed.basis, parsed.year)
        if key in seen:
            problems.append(
                f"{name}, row {number}: same city, indicator, basis, year as row {seen[key]}"
            )
            continue
        seen[key] = number
        values.append(parsed)
    if problems:
        raise ReferenceError(problems)
    return values


def load_reference(path: Path, known: Catalogue | None = None) -> list[ReferenceValue]:
    with path.open(encoding="utf-8", newline="") as file:
        return parse_reference(str(path), file, known or catalogue())


def packaged_reference() -> list[ReferenceValue]:
    """The starting set shipped with cityos (Chongqing, London, Warsaw, Duisburg)."""
    text = resources.files("cityos.indicators").joinpath("data/reference.csv").read_text("utf-8")
    return parse_reference("reference.csv", io.StringIO(text), catalogue())


def merge(*sets: Iterable[ReferenceValue]) -> list[ReferenceValue]:
    """One value per city, indicator, basis and year; a later set's value replaces an
    earlier one's (a city's own loaded figures over the packaged set)."""
    merged: dict[tuple[str, str, str, int | None], ReferenceValue] = {}
    for values in sets:
        for v in values:
            merged[(v.city, v.indicator, v.basis, v.year)] = v
    return list(merged.values())
