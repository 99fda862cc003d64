"""The comparison as a Rich table for the terminal, with a numbered footnote per source.

One row per indicator, one column per city; each cell its value (unit in its plural form),
year, area and rank (#1 the best) when compared, else the reason it is not; in the language
asked (en, pl), numbers and plurals by CLDR (wording.py). Live values get their own table.
"""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from .compare import Cell, Comparison, Row
from .strengths import figure, indicator_name, reason
from .wording import Citations, Wording, wording


def number(value: float) -> str:
    """Grouped digits; two decimals only for a fractional value (15.000000000000002, a
    quotient's rounding error, is 15)."""
    return f"{value:,.0f}" if round(float(value), 9).is_integer() else f"{value:,.2f}"


def _cell_text(cell: Cell, words: Wording, citations: Citations) -> str:
    if cell.value is None:
        return f"[dim]{escape(words.headings['missing'])}[/]"
    value, cite = figure(cell, words, citations)
    rank = (
        f"  [bold]{words.sentence('headings', 'rank', rank=str(cell.rank))}[/]" if cell.rank else ""
    )
    lines = [
        f"[bold]{escape(value)}[/]{rank}",
        escape(f"{words.period(cell.period)}, {words.area(cell.area)} {cite}"),
    ]
    if cell.reason:
        lines.append(f"[dim]{escape(reason(cell, words))}[/]")
    for flag in cell.quality:
        lines.append(f"[yellow]{escape(words.quality[flag])}[/]")
    return "\n".join(lines)


def _table(
    title: str, rows: list[Row], comparison: Comparison, words: Wording, citations: Citations
) -> Table:
    table = Table(title=title, show_lines=True)
    table.add_column(words.headings["indicator"])
    for city in comparison.cities:
        table.add_column(words.city(city))
    for row in rows:
        label = escape(indicator_name(row.indicator, words))
        table.add_row(
            f"{label}\n[dim]{escape(words.theme(row.indicator.theme))}[/]",
            *(_cell_text(c, words, citations) for c in row.cells.values()),
        )
    return table


def comparison_tables(
    comparison: Comparison, language: str = "en"
) -> tuple[list[Table], list[str]]:
    """The published table (ranked where comparable), the live one when there are live
    values, and the footnotes "[n] source" in the order the tables cite them."""
    words = wording(language)
    citations = Citations()
    title = words.sentence("headings", "side_by_side_title")
    tables = [_table(title, comparison.rows, comparison, words, citations)]
    if comparison.live:
        tables.append(_table(words.headings["live"], comparison.live, comparison, words, citations))
    from .report import bibliography

    notes = [escape(f"[{n}] {bibliography(s, words)}") for n, s in enumerate(citations.sources, 1)]
    return tables, notes
