"""A city's strengths report as one self-contained HTML file or a PDF, with charts.

`build` turns a profile, its narrative and the audience's messages into one neutral
`Report`: every text and every chart (reportlab `Drawing`s) is made once, with one citation
numbering, so the HTML (drawings rendered to inline SVG) and the PDF (the same drawings drawn
into it) cannot disagree. The PDF embeds DejaVu Sans (fonts/, Bitstream Vera licence) for
Polish letters, which reportlab's own fonts lack.
"""

from __future__ import annotations

import html
import io
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Literal

from reportlab.graphics import renderSVG
from reportlab.graphics.shapes import Drawing, Line, Polygon, Rect, String
from reportlab.lib import colors
from reportlab.lib.enums import TA_LEFT
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    Flowable,
    KeepTogether,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from .audiences import Audience, Link, Message, messages
from .catalogue import Catalogue
from .compare import Cell, share_of_best, theme_scores
from .reference import ReferenceValue
from .strengths import Item, Profile, figure, indicator_name, narrative, profile
from .wording import Citations, Wording, wording

FONT, BOLD = "DejaVuSans", "DejaVuSans-Bold"
HIGHLIGHT, OTHER, GRID = colors.HexColor("#b03a2e"), colors.HexColor("#8a9aa6"), colors.lightgrey
CHART_WIDTH = 480.0
PALETTE = ("#b03a2e", "#2e6fb0", "#3a9a5b", "#a67c00", "#7b4bb0", "#4b8a9a")


class ReportError(ValueError):
    """A report that cannot be made: an unknown format, or a city without figures."""


@dataclass(frozen=True, slots=True)
class TableRow:
    indicator: str
    standing: str
    cells: list[str]
    """One per city of the report, value and markers, or "missing"."""
    note: str
    """The city's value's note, cited like the value (notes quote figures too)."""


@dataclass(frozen=True, slots=True)
class ThemeTable:
    theme: str
    rows: list[TableRow]


@dataclass(frozen=True, slots=True)
class Chart:
    caption: str
    drawing: Drawing


@dataclass(frozen=True, slots=True)
class Report:
    profile: Profile
    audience: Audience
    words: Wording
    title: str
    subtitle: str
    cities: list[str]
    """Column heads: the city, then its peers, in the report's language."""
    themes: list[ThemeTable]
    paragraphs: list[str]
    messages: list[Message]
    charts: list[Chart]
    sources: list[str]
    """The n-th is cited as [n] everywhere in the report."""

    def heading(self, key: str, **fields: str) -> str:
        return self.words.sentence("headings", key, **fields)


@cache
def register_fonts() -> None:
    """DejaVu Sans into reportlab, once: Polish letters (ł, ż, ś) need it."""
    fonts = resources.files("cityos.indicators").joinpath("fonts")
    for name, file in ((FONT, "DejaVuSans.ttf"), (BOLD, "DejaVuSans-Bold.ttf")):
        pdfmetrics.registerFont(TTFont(name, str(fonts.joinpath(file))))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)


# --- charts: reportlab drawings, for the PDF as they are and for the HTML as SVG ---------


Anchor = Literal["start", "middle", "end"]
Bar = tuple[str, float | None, str, bool]


def _text(
    x: float, y: float, text: str, size: float = 8, bold: bool = False, anchor: Anchor = "start"
) -> String:
    return String(x, y, text, fontName=BOLD if bold else FONT, fontSize=size, textAnchor=anchor)


def _box(x: float, y: float, width: float, height: float, fill: colors.Color) -> Rect:
    box = Rect(x, y, width, height)  # the stubs type Rect's keywords wrongly
    box.fillColor, box.strokeColor = fill, None
    return box


def bar_chart(bars: Sequence[Bar]) -> Drawing:
    """Horizontal bars: (label, value or None for missing, value text, highlighted). The
    title is the chart's caption, set as text beside it, so it wraps instead of clipping."""
    row, top, label_width, text_room = 18.0, 4.0, 96.0, 120.0
    drawing = Drawing(CHART_WIDTH, top + row * len(bars) + 2)
    longest = max((abs(v) for _, v, _, _ in bars if v is not None), default=0.0) or 1.0
    room = CHART_WIDTH - label_width - text_room
    for n, (label, value, text, highlight) in enumerate(bars):
        y = drawing.height - top - row * (n + 1) + 4
        drawing.add(_text(label_width - 6, y + 4, label, anchor="end"))
        length = room * max(value, 0.0) / longest if value is not None else 0.0
        if value is not None:
            fill = HIGHLIGHT if highlight else OTHER
            drawing.add(_box(label_width, y, length, row - 6, fill))
        drawing.add(_text(label_width + length + 4, y + 4, text))
    return drawing


def radar_chart(
    axes: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]]
) -> Drawing:
    """A radar of 0 to 100 scores, one axis per theme, one polygon per city (the first, the
    report's city, in the highlight colour); a missing score is drawn at the centre."""
    size, legend = 300.0, 14.0 * len(series)
    drawing = Drawing(CHART_WIDTH, size + legend)
    cx, cy, radius = CHART_WIDTH / 2, legend + size / 2, size / 2 - 40

    def point(axis: int, share: float) -> tuple[float, float]:
        angle = math.pi / 2 - 2 * math.pi * axis / len(axes)
        return cx + radius * share * math.cos(angle), cy + radius * share * math.sin(angle)

    for ring in (0.25, 0.5, 0.75, 1.0):
        ring_points = [c for a in range(len(axes)) for c in point(a, ring)]
        drawing.add(Polygon(ring_points, fillColor=None, strokeColor=GRID, strokeWidth=0.5))
    for a, name in enumerate(axes):
        drawing.add(Line(cx, cy, *point(a, 1.0), strokeColor=GRID, strokeWidth=0.5))
        x, y = point(a, 1.12)
        anchor: Anchor = "middle" if abs(x - cx) < 5 else ("start" if x > cx else "end")
        drawing.add(_text(x, y - 3, name, anchor=anchor))
    for n, (name, scores) in enumerate(series):
        colour = colors.HexColor(PALETTE[n % len(PALETTE)])
        points = [c for a, s in enumerate(scores) for c in point(a, (s or 0.0) / 100)]
        drawing.add(
            Polygon(
                points,
                fillColor=colors.Color(colour.red, colour.green, colour.blue, 0.15),
                strokeColor=colour,
                strokeWidth=1.5 if n == 0 else 1,
            )
        )
        y = legend - 14.0 * (n + 1) + 4
        drawing.add(_box(cx - 60, y, 10, 8, colour))
        drawing.add(_text(cx - 45, y + 1, name))
    return drawing


def _indicator_chart(item: Item, words: Wording, citations: Citations, city: str) -> Chart:
    row = item.row
    direction = "↑" if row.indicator.better == "higher" else "↓"
    title = f"{indicator_name(row.indicator, words)} ({words.unit(item.cell.unit)}) {direction}"
    bars: list[Bar] = []
    for cell in row.cells.values():
        if cell.value is None:
            bars.append((words.city(cell.city), None, words.headings["missing"], False))
            continue
        _, cite = figure(cell, words, citations)
        text = f"{words.number(cell.value)} {cite}"
        bars.append((words.city(cell.city), cell.value, text, cell.city == city))
    return Chart(title, bar_chart(bars))


def _score_charts(strengths: Profile, words: Wording, citations: Citations) -> list[Chart]:
    """Theme scores (compare.theme_scores): a radar from three themes on, else bars, each
    score cited by the figures of the city it was computed from."""
    scores = theme_scores(strengths.comparison)
    if not scores:
        return []
    caption = words.sentence("headings", "theme_scores")
    cities = strengths.comparison.cities
    if len(scores) >= 3:
        axes = [words.theme(t) for t in scores]
        series = [(words.city(c), [scores[t][c] for t in scores]) for c in cities]
        return [Chart(caption, radar_chart(axes, series))]
    charts = []
    for theme, by_city in scores.items():
        rows = [r for r in strengths.comparison.rows if r.indicator.theme == theme]
        bars: list[Bar] = []
        for city in cities:
            score = by_city[city]
            if score is None:
                bars.append((words.city(city), None, words.headings["missing"], False))
                continue
            used = [r.cells[city] for r in rows if city in share_of_best(r)]
            cite = citations.mark(dict.fromkeys(s for c in used for s in c.citations))
            text = f"{words.number(round(score))}% {cite}"
            bars.append((words.city(city), score, text, city == strengths.city))
        title = f"{caption}: {words.theme(theme)}"
        charts.append(Chart(title, bar_chart(bars)))
    return charts


# --- the report ---------------------------------------------------------------------------


def _cell_text(cell: Cell, words: Wording, citations: Citations) -> str:
    if cell.value is None:
        return words.headings["missing"]
    value, cite = figure(cell, words, citations)
    return f"{value} ({words.year(cell.year)}){cite}"


def _standing(item: Item, words: Wording) -> str:
    city = words.city(item.cell.city)
    if item.kind == "lead":
        return words.sentence("headings", "leads", city=city)
    if item.kind == "shared":
        return words.sentence("headings", "shared")
    if item.kind == "peer":
        leader = words.listing(words.city(c.city) for c in item.leaders)
        return words.sentence("headings", "peer_leads", leader=leader)
    return words.sentence("headings", item.kind)


def _years(strengths: Profile, links: Sequence[Message]) -> tuple[list[int], bool]:
    cells = [c for i in strengths.items() for c in (i.cell, *i.leaders, *i.others)]
    years = [c.year for c in cells if c.year is not None]
    years += [int(m.link.date[:4]) for m in links if m.link.date[:4].isdigit()]
    undated = any(c.year is None for c in cells) or any(not m.link.date for m in links)
    return sorted(set(years)), undated


def build(
    city: str,
    peers: Sequence[str],
    values: Sequence[ReferenceValue],
    links: Sequence[Link],
    reader: Audience,
    language: str | None = None,
    known: Catalogue | None = None,
) -> Report:
    """The whole report, its texts and charts numbered by one `Citations`: the narrative's
    sources come first, then the messages', then any that only tables and charts cite."""
    register_fonts()
    words = wording(language or reader.language)
    strengths = profile(city, peers, values, known)
    if not strengths.themes:
        raise ReportError(f"no reference values for {city}")
    citations = Citations()
    story = narrative(strengths, words, citations)
    said = messages(strengths.city, reader, links, citations)
    cities = strengths.comparison.cities
    themes = [
        ThemeTable(
            words.theme(t.theme),
            [
                TableRow(
                    f"{indicator_name(i.row.indicator, words)}"
                    + (f" ({words.name(i.row.basis)})" if i.row.basis else ""),
                    _standing(i, words),
                    [_cell_text(i.row.cells[c], words, citations) for c in cities],
                    f"{i.cell.note}{citations.mark(i.cell.citations)}" if i.cell.note else "",
                )
                for i in t.items
            ],
        )
        for t in strengths.themes
    ]
    charts = [
        _indicator_chart(i, words, citations, strengths.city)
        for i in strengths.items("lead", "shared", "peer")
    ]
    charts += _score_charts(strengths, words, citations)
    years, undated = _years(strengths, said)
    span = (
        words.sentence("headings", "data_year", first=str(years[0]))
        if len(years) == 1
        else words.sentence("headings", "data_years", first=str(years[0]), last=str(years[-1]))
        if years
        else ""
    )
    audience_name = words.name(reader.name)
    subtitle = " · ".join(
        part
        for part in (
            words.sentence("headings", "for_audience", audience=audience_name),
            span,
            words.sentence("headings", "undated") if undated else "",
        )
        if part
    )
    title = words.sentence(
        "headings",
        "title",
        city=words.city(strengths.city),
        peers=words.listing(words.city(p) for p in strengths.peers),
    )
    return Report(
        strengths,
        reader,
        words,
        title,
        subtitle,
        [words.city(c) for c in cities],
        themes,
        story.paragraphs,
        said,
        charts,
        citations.sources,
    )


def summary(report: Report) -> str:
    """One line for the terminal."""
    strengths = report.profile
    counts = {
        "leads": len(strengths.items("lead", "shared")),
        "peer leads": len(strengths.items("peer")),
        "distinctive": len(strengths.items("distinctive")),
        "messages": len(report.messages),
        "sources": len(report.sources),
    }
    parts = ", ".join(f"{what} {n}" for what, n in counts.items())
    return f"{report.title} ({report.audience.name}): {parts}"


# --- HTML -------------------------------------------------------------------------------

CSS = """
body{font-family:'DejaVu Sans',Verdana,sans-serif;max-width:60rem;margin:2rem auto;
padding:0 1rem;color:#222;line-height:1.45}
h1{font-size:1.6rem;margin-bottom:.2rem}h2{border-bottom:2px solid #b03a2e;padding-bottom:.2rem;
margin-top:2rem}h3{margin-bottom:.3rem}.subtitle{color:#555;margin-top:0}
table{border-collapse:collapse;width:100%;font-size:.85rem;margin:.3rem 0 1rem}
th,td{border:1px solid #ddd;padding:.3rem .4rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}td.missing{color:#999}.standing{font-size:.75rem;color:#b03a2e}
.note{font-size:.75rem;color:#666}.en{color:#666;font-size:.9rem}
a.cite{text-decoration:none;color:#2e6fb0}figure{margin:1rem 0}figcaption{font-size:.85rem;
font-weight:bold;margin-bottom:.3rem}ol.sources{font-size:.85rem}
figure svg{width:100%;max-width:48rem;height:auto}
"""


def _cited(text: str) -> str:
    """Escaped text whose markers link to the sources list."""
    return re.sub(r"\[(\d+)\]", r'<a class="cite" href="#source-\1">[\1]</a>', html.escape(text))


def _svg(drawing: Drawing, n: int) -> str:
    svg = renderSVG.drawToString(drawing)
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<title>.*?</title>\s*<desc>.*?</desc>", "", svg, flags=re.S)
    svg = svg.replace('id="clip"', f'id="clip-{n}"').replace("url(#clip)", f"url(#clip-{n})")
    svg = svg.replace('id="group"', f'id="chart-{n}"')
    return svg.replace(
        f"font-family: {BOLD}", "font-family: 'DejaVu Sans'; font-weight: bold"
    ).replace(f"font-family: {FONT}", "font-family: 'DejaVu Sans', sans-serif")


def to_html(report: Report) -> str:
    """One self-contained page: inline CSS and SVG, no network."""
    register_fonts()
    e = html.escape
    words = report.words
    out = [
        f'<!DOCTYPE html>\n<html lang="{words.language}"><head><meta charset="utf-8">',
        f"<title>{e(report.title)}</title><style>{CSS}</style></head><body>",
        f"<header><h1>{e(report.title)}</h1>",
        f'<p class="subtitle">{e(report.subtitle)}</p></header>',
        f'<section id="leads"><h2>{e(report.heading("leads_by_theme"))}</h2>',
    ]
    heads = "".join(f"<th>{e(c)}</th>" for c in report.cities)
    for theme in report.themes:
        out.append(
            f"<h3>{e(theme.theme)}</h3><table><tr><th>{e(report.heading('indicator'))}"
            f"</th>{heads}</tr>"
        )
        for row in theme.rows:
            note = f'<div class="note cited">{_cited(row.note)}</div>' if row.note else ""
            cells = "".join(
                f'<td class="cited">{_cited(c)}</td>'
                if c != words.headings["missing"]
                else f'<td class="missing">{e(c)}</td>'
                for c in row.cells
            )
            out.append(
                f'<tr><td>{e(row.indicator)}<div class="standing">{e(row.standing)}'
                f"</div>{note}</td>{cells}</tr>"
            )
        out.append("</table>")
    out.append(f'</section><section id="profile"><h2>{e(report.heading("profile"))}</h2>')
    out += [f'<p class="cited">{_cited(p)}</p>' for p in report.paragraphs]
    audience = words.name(report.audience.name)
    out.append(
        f'</section><section id="messages"><h2>'
        f"{e(report.heading('messages', audience=audience))}</h2>"
    )
    for message in report.messages:
        english = (
            f'<br><span class="en cited" lang="en">{_cited(message.english)}</span>'
            if message.english
            else ""
        )
        out.append(f'<p><span class="cited">{_cited(message.text)}</span>{english}</p>')
    if not report.messages:
        city = words.city(report.profile.city)
        out.append(f"<p>{e(report.heading('no_messages', city=city, audience=audience))}</p>")
    out.append(f'</section><section id="charts"><h2>{e(report.heading("charts"))}</h2>')
    for n, chart in enumerate(report.charts, 1):
        out.append(
            f"<figure><figcaption>{e(chart.caption)}</figcaption>{_svg(chart.drawing, n)}</figure>"
        )
    out.append(
        f'</section><section id="sources"><h2>{e(report.heading("sources"))}</h2>'
        '<ol class="sources">'
    )
    out += [f'<li id="source-{n}">{e(s)}</li>' for n, s in enumerate(report.sources, 1)]
    out.append("</ol></section></body></html>\n")
    return "\n".join(out)


# --- PDF --------------------------------------------------------------------------------


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=13, alignment=TA_LEFT)
    return {
        "body": base,
        "title": ParagraphStyle(
            "title", base, fontName=BOLD, fontSize=17, leading=21, spaceAfter=4
        ),
        "subtitle": ParagraphStyle("subtitle", base, textColor=colors.HexColor("#555555")),
        "h2": ParagraphStyle(
            "h2",
            base,
            fontName=BOLD,
            fontSize=13,
            leading=17,
            spaceBefore=10,
            spaceAfter=4,
            textColor=HIGHLIGHT,
        ),
        "h3": ParagraphStyle("h3", base, fontName=BOLD, fontSize=10.5, spaceBefore=6, spaceAfter=2),
        "paragraph": ParagraphStyle("paragraph", base, spaceAfter=5),
        "caption": ParagraphStyle(
            "caption", base, fontName=BOLD, fontSize=8.5, leading=11, spaceBefore=4
        ),
        "cell": ParagraphStyle("cell", base, fontSize=7.5, leading=9.5),
        "small": ParagraphStyle(
            "small", base, fontSize=7, leading=9, textColor=colors.HexColor("#555555")
        ),
        "en": ParagraphStyle(
            "en", base, fontSize=8.5, leading=11, textColor=colors.HexColor("#555555"), spaceAfter=4
        ),
    }


def _p(text: str, style: ParagraphStyle) -> Paragraph:
    return Paragraph(html.escape(text), style)


def to_pdf(report: Report) -> bytes:
    """A4 pages, each headed by the report's title and audience and numbered."""
    register_fonts()
    s = _styles()
    words = report.words
    story: list[Flowable] = [
        _p(report.title, s["title"]),
        _p(report.subtitle, s["subtitle"]),
        _p(report.heading("leads_by_theme"), s["h2"]),
    ]
    width = A4[0] - 36 * mm
    first = width * 0.3
    widths = [first] + [(width - first) / len(report.cities)] * len(report.cities)
    for theme in report.themes:
        rows: list[list[Flowable]] = [
            [_p(report.heading("indicator"), s["cell"]), *(_p(c, s["cell"]) for c in report.cities)]
        ]
        for row in theme.rows:
            label = (
                f"{html.escape(row.indicator)}<br/><font color='#b03a2e' size='6.5'>"
                f"{html.escape(row.standing)}</font>"
            )
            if row.note:
                label += f"<br/><font color='#666666' size='6.5'>{html.escape(row.note)}</font>"
            rows.append([Paragraph(label, s["cell"]), *(_p(c, s["cell"]) for c in row.cells)])
        table = Table(rows, colWidths=widths, repeatRows=1)
        table.setStyle(
            TableStyle(
                [
                    ("GRID", (0, 0), (-1, -1), 0.4, colors.HexColor("#cccccc")),
                    ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f1f1f1")),
                    ("VALIGN", (0, 0), (-1, -1), "TOP"),
                ]
            )
        )
        story += [KeepTogether([_p(theme.theme, s["h3"]), table])]
    story.append(_p(report.heading("profile"), s["h2"]))
    story += [_p(paragraph, s["paragraph"]) for paragraph in report.paragraphs]
    audience = words.name(report.audience.name)
    story.append(_p(report.heading("messages", audience=audience), s["h2"]))
    for message in report.messages:
        story.append(_p(message.text, ParagraphStyle("msg", s["body"], spaceAfter=1)))
        if message.english:
            story.append(_p(message.english, s["en"]))
    if not report.messages:
        city = words.city(report.profile.city)
        story.append(_p(report.heading("no_messages", city=city, audience=audience), s["body"]))
    story.append(_p(report.heading("charts"), s["h2"]))
    for chart in report.charts:
        story += [KeepTogether([_p(chart.caption, s["caption"]), chart.drawing, Spacer(1, 8)])]
    sources = [_p(f"[{n}] {source}", s["body"]) for n, source in enumerate(report.sources, 1)]
    story.append(KeepTogether([_p(report.heading("sources"), s["h2"]), *sources]))

    def page(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.setFillColor(colors.HexColor("#777777"))
        canvas.drawString(18 * mm, A4[1] - 11 * mm, f"{report.title} · {report.subtitle}")
        canvas.drawRightString(A4[0] - 18 * mm, 10 * mm, f"{report.heading('page')} {doc.page}")
        canvas.restoreState()

    buffer = io.BytesIO()
    doc = SimpleDocTemplate(
        buffer,
        pagesize=A4,
        leftMargin=18 * mm,
        rightMargin=18 * mm,
        topMargin=18 * mm,
        bottomMargin=16 * mm,
        title=report.title,
        author="cityos",
    )
    doc.build(story, onFirstPage=page, onLaterPages=page)
    return buffer.getvalue()


def write(report: Report, path: Path) -> None:
    """HTML or PDF by the file's extension."""
    suffix = path.suffix.lower()
    if suffix in (".html", ".htm"):
        path.write_text(to_html(report), encoding="utf-8")
    elif suffix == ".pdf":
        path.write_bytes(to_pdf(report))
    else:
        raise ReportError(f"{path.name}: the report is written as .html or .pdf, not {suffix!r}")
