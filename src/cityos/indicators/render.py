"""The comparison as a Rich table for the terminal, with a numbered footnote per source."""

from __future__ import annotations

from rich.markup import escape
from rich.table import Table

from .compare import Cell, Comparison


def number(value: float) -> str:
    """Grouped digits; two decimals only for a fractional value (15.000000000000002, a
    quotient's rounding error, is 15)."""
    return f"{value:,.0f}" if round(float(value), 9).is_integer() else f"{value:,.2f}"


def _cell_text(cell: Cell, footnotes: dict[str, int], show_note: bool) -> str:
    if cell.value is None:
        return f"[dim]missing[/]\n[dim]{escape(cell.note)}[/]" if cell.note else "[dim]missing[/]"
    year = str(cell.year) if cell.year is not None else "year n/a"
    refs = "".join(f"[{footnotes[c]}]" for c in cell.citations)
    rank = f"  #{cell.rank}" if cell.rank is not None else ""
    lines = [f"[bold]{number(cell.value)}[/]{rank}", f"{year} {refs}"]
    if show_note and cell.note:
        lines.append(f"[dim]{escape(cell.note)}[/]")
    return "\n".join(lines)


def comparison_table(comparison: Comparison) -> tuple[Table, list[str]]:
    """The table (one row per indicator and basis, one column per city; #n is the rank in
    the peer group) and its footnotes, "[n] source", in the order the table cites them."""
    footnotes = {source: n for n, source in enumerate(comparison.sources, 1)}
    table = Table(title="cities side by side", show_lines=True)
    table.add_column("indicator")
    for city in comparison.cities:
        table.add_column(city.title())
    for row in comparison.rows:
        basis = f" ({row.basis})" if row.basis else ""
        indicator = row.indicator
        direction = (
            "context, not ranked"
            if indicator.better == "neutral"
            else f"{indicator.better} is better"
        )
        label = f"{indicator.name}{basis}\n[dim]{indicator.unit}, {direction}[/]"
        table.add_row(
            label, *(_cell_text(c, footnotes, indicator.derived) for c in row.cells.values())
        )
    return table, [escape(f"[{n}] {source}") for source, n in footnotes.items()]
