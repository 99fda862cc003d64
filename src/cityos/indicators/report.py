"""A city's strengths report as one self-contained HTML file or a PDF of a few pages.

`build` turns a profile, its narrative and the audience's messages into one neutral
`Report`: every text, the side-by-side table and the corridor map (a reportlab `Drawing`)
are made once, with one citation numbering, so the HTML (the drawing as inline SVG) and the
PDF cannot disagree. The document: a cover; the city's strengths, a sentence each with its
evidence and citation; transport and education side by side with one peer (London when it
is among the peers); the corridor to Poland on a map with the audience's messages; what the
city still lacks data for; the sources as a bibliography. A value's note (the data's own
remark) is never printed. The PDF embeds DejaVu Sans (fonts/, Bitstream Vera licence) for
Polish letters.
"""

from __future__ import annotations

import html
import io
import json
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

from reportlab.graphics import renderSVG
from reportlab.graphics.shapes import Circle, Drawing, Polygon, PolyLine, Rect, String
from reportlab.lib import colors
from reportlab.lib.pagesizes import A4
from reportlab.lib.styles import ParagraphStyle
from reportlab.lib.units import mm
from reportlab.pdfbase import pdfmetrics
from reportlab.pdfbase.cidfonts import UnicodeCIDFont
from reportlab.pdfbase.ttfonts import TTFont
from reportlab.pdfgen.canvas import Canvas
from reportlab.platypus import (
    CondPageBreak,
    Flowable,
    PageBreak,
    Paragraph,
    SimpleDocTemplate,
    Spacer,
    Table,
    TableStyle,
)

from .audiences import Audience, Link, Message, messages
from .catalogue import Catalogue
from .compare import Cell, Row
from .reference import ReferenceValue, Source
from .strengths import Narrative, Profile, figure, indicator_name, narrative, profile, reason
from .wording import Citations, Wording, wording

FONT, BOLD = "DejaVuSans", "DejaVuSans-Bold"
CJK_FONT = "STSong-Light"
ACCENT = colors.HexColor("#b03a2e")
INK, MUTED = colors.HexColor("#222222"), colors.HexColor("#666666")
SIDE_THEMES = ("transportation", "education")
"""The themes set side by side with one peer."""
SIDE_PEER = "london"
"""The peer of the side-by-side table when it is among the peers (else the first peer)."""
MAP_WIDTH = 480.0
MAP_BOX = (-10.0, 20.0, 112.0, 62.0)
"""Longitude and latitude of the corridor map: Duisburg to Chongqing."""
PLACES: dict[str, tuple[float, float]] = {
    "Chongqing": (106.55, 29.56),
    "Alashankou": (82.57, 45.17),
    "Małaszewicze": (23.55, 52.05),
    "Łódź": (19.46, 51.76),
    "Duisburg": (6.76, 51.43),
}
"""Where the map's places are (longitude, latitude)."""
ROUTE = ("Chongqing", "Alashankou", "Małaszewicze", "Duisburg")


class ReportError(ValueError):
    """A report that cannot be made: an unknown format, or a city without figures."""


@dataclass(frozen=True, slots=True)
class SideRow:
    theme: str
    indicator: str
    cells: tuple[str, str]
    """The city's and the peer's value, each with year, area and markers, or "missing"."""
    standing: str
    """Who leads when compared, else why not."""
    compared: bool


@dataclass(frozen=True, slots=True)
class Report:
    profile: Profile
    audience: Audience
    words: Wording
    title: str
    subtitle: str
    kicker: str
    peers_line: str
    story: Narrative
    peer: str
    """The side-by-side peer's name, in the report's language."""
    side: list[SideRow]
    corridor: Drawing
    corridor_caption: str
    messages: list[Message]
    sources: list[Source]
    """The n-th is cited as [n] everywhere in the report."""

    def heading(self, key: str, **fields: str) -> str:
        return self.words.sentence("headings", key, **fields)

    @property
    def city(self) -> str:
        return self.words.city(self.profile.city)


@cache
def register_fonts() -> None:
    """DejaVu Sans into reportlab, once: Polish letters (ł, ż, ś) need it."""
    fonts = resources.files("cityos.indicators").joinpath("fonts")
    for name, file in ((FONT, "DejaVuSans.ttf"), (BOLD, "DejaVuSans-Bold.ttf")):
        pdfmetrics.registerFont(TTFont(name, str(fonts.joinpath(file))))
    pdfmetrics.registerFontFamily(FONT, normal=FONT, bold=BOLD, italic=FONT, boldItalic=BOLD)
    pdfmetrics.registerFont(UnicodeCIDFont(CJK_FONT))


# --- the corridor map ---------------------------------------------------------------------

Anchor = Literal["start", "middle", "end"]


def _text(
    x: float, y: float, text: str, size: float = 8, bold: bool = False, anchor: Anchor = "start"
) -> String:
    return String(x, y, text, fontName=BOLD if bold else FONT, fontSize=size, textAnchor=anchor)


def _rect(x: float, y: float, width: float, height: float, fill: Any, stroke: Any) -> Rect:
    box = Rect(x, y, width, height)  # the stubs type Rect's keywords wrongly
    box.fillColor, box.strokeColor, box.strokeWidth = fill, stroke, 0.5
    return box


@cache
def _countries() -> list[dict[str, Any]]:
    text = resources.files("cityos.indicators").joinpath("data/corridor-countries.json")
    countries: list[dict[str, Any]] = json.loads(text.read_text("utf-8"))["countries"]
    return countries


def corridor_map() -> Drawing:
    """Country outlines (Natural Earth), the schematic route and its places, equirectangular
    at 45°N so Europe and China keep their shapes."""
    west, south, east, north = MAP_BOX
    squeeze = math.cos(math.radians(45))
    scale = MAP_WIDTH / ((east - west) * squeeze)
    height = (north - south) * scale
    drawing = Drawing(MAP_WIDTH, height)

    def xy(lon: float, lat: float) -> tuple[float, float]:
        """Projected, and clamped to the frame (reportlab drawings do not clip)."""
        lon, lat = min(max(lon, west), east), min(max(lat, south), north)
        return (lon - west) * squeeze * scale, (lat - south) * scale

    drawing.add(_rect(0, 0, MAP_WIDTH, height, colors.HexColor("#eaf1f6"), None))
    for country in _countries():
        for ring in country["rings"]:
            points = [c for lon, lat in ring for c in xy(lon, lat)]
            drawing.add(
                Polygon(
                    points,
                    fillColor=colors.HexColor("#f7f5f0"),
                    strokeColor=colors.HexColor("#b9b9b9"),
                    strokeWidth=0.3,
                )
            )
    route = [c for place in ROUTE for c in xy(*PLACES[place])]
    drawing.add(PolyLine(route, strokeColor=ACCENT, strokeWidth=2.2))
    for place, (lon, lat) in PLACES.items():
        x, y = xy(lon, lat)
        drawing.add(
            Circle(x, y, 3.2, fillColor=ACCENT if place in ROUTE else INK, strokeColor=None)
        )
        below, left = place == "Łódź", place == "Chongqing"
        anchor: Anchor = "end" if left else "start"
        label_x = x - 5 if left else x + 4
        drawing.add(_text(label_x, y - 10 if below else y + 5, place, 8, True, anchor))
    drawing.add(_rect(0, 0, MAP_WIDTH, height, None, GRID))
    return drawing


GRID = colors.HexColor("#cccccc")


# --- the report ---------------------------------------------------------------------------


def _cell_text(cell: Cell, words: Wording, citations: Citations) -> str:
    if cell.value is None:
        return words.headings["missing"]
    value, cite = figure(cell, words, citations)
    text = f"{value} ({words.period(cell.period)}, {words.area(cell.area)}){cite}"
    for other in cell.alternatives:
        disagree = other.citations != cell.citations  # one source's two figures are not that
        if disagree and other.period == cell.period and other.area == cell.area:
            said = words.quantity(other.value, other.unit, other.bound)
            text += "; " + words.sentence(
                "sentences", "disagree", value=said, cite=citations.mark(other.citations)
            )
    for flag in cell.quality:
        text += f" ({words.sentence('headings', 'quality_flag', flag=words.quality[flag])})"
    return text


def _side_standing(row: Row, city: str, peer: str, words: Wording) -> tuple[str, bool]:
    mine, theirs = row.cells[city], row.cells[peer]
    if mine.rank is not None and theirs.rank is not None:
        if mine.rank == theirs.rank:
            return f"{words.headings['compared']}: {words.headings['shared']}", True
        leader = mine if mine.rank < theirs.rank else theirs
        who = words.sentence("headings", "leads", city=words.city(leader.city))
        return f"{words.headings['compared']}: {who}", True
    why = [reason(c, words) for c in (mine, theirs) if c.value is not None and c.reason]
    why += [
        words.sentence("headings", "no_figure", city=words.city(c.city))
        for c in (mine, theirs)
        if c.value is None
    ]
    return "; ".join(dict.fromkeys(why)), False


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
    """The whole report, its texts, table and map numbered by one `Citations`: the
    strengths' sources come first, then the table's, then the messages'."""
    register_fonts()
    words = wording(language or reader.language)
    strengths = profile(city, peers, values, known)
    if not strengths.themes:
        raise ReportError(f"no reference values for {city}")
    citations = Citations()
    story = narrative(strengths, words, citations)
    peer = SIDE_PEER if SIDE_PEER in strengths.peers else (strengths.peers or [strengths.city])[0]
    side = []
    for row in strengths.comparison.rows:
        if row.indicator.theme not in SIDE_THEMES or peer == strengths.city:
            continue
        if row.cells[strengths.city].value is None and row.cells[peer].value is None:
            continue
        standing, compared = _side_standing(row, strengths.city, peer, words)
        side.append(
            SideRow(
                words.theme(row.indicator.theme),
                indicator_name(row.indicator, words),
                (
                    _cell_text(row.cells[strengths.city], words, citations),
                    _cell_text(row.cells[peer], words, citations),
                ),
                standing,
                compared,
            )
        )
    order = [words.theme(t) for t in SIDE_THEMES]
    side.sort(key=lambda r: (order.index(r.theme), not r.compared))
    said = messages(strengths.city, reader, links, citations)
    years, undated = _years(strengths, said)
    span = (
        words.sentence("headings", "data_year", first=str(years[0]))
        if len(years) == 1
        else words.sentence("headings", "data_years", first=str(years[0]), last=str(years[-1]))
        if years
        else ""
    )
    subtitle = " · ".join(
        part
        for part in (
            words.sentence("headings", "for_audience", audience=words.name(reader.name)),
            span,
            words.sentence("headings", "undated") if undated else "",
        )
        if part
    )
    name = words.city(strengths.city)
    return Report(
        strengths,
        reader,
        words,
        words.sentence("headings", "title", city=name),
        subtitle,
        words.sentence("headings", "cover_kicker"),
        words.sentence(
            "headings", "cover_peers", peers=words.listing(words.city(p) for p in strengths.peers)
        ),
        story,
        words.city(peer),
        side,
        corridor_map(),
        words.sentence("headings", "map_caption", city=name),
        said,
        citations.sources,
    )


def summary(report: Report) -> str:
    """One line for the terminal."""
    strengths = report.profile
    counts = {
        "leads": len(strengths.items("lead", "shared")),
        "peer leads": len(strengths.items("peer")),
        "compared with " + report.peer: sum(r.compared for r in report.side),
        "messages": len(report.messages),
        "sources": len(report.sources),
    }
    parts = ", ".join(f"{what} {n}" for what, n in counts.items())
    return f"{report.title} ({report.audience.name}): {parts}"


def bibliography(source: Source, words: Wording) -> str:
    """Publisher. “Title”. Year. Address. — quoted the language's way."""
    title = words.sentence("headings", "quote", title=source.title) if source.title else ""
    parts = (source.publisher, title, source.published, source.url)
    return ". ".join(p for p in parts if p)


def _sections(report: Report) -> list[tuple[str, str, list[str]]]:
    """(id, heading, sentences) of the text sections, in order: one source for both formats."""
    city, story = report.city, report.story
    sections = [
        ("strengths", report.heading("strengths", city=city), story.strengths),
        ("peers", report.heading("peer_strengths"), story.peer_leads),
        ("distinctive", report.heading("distinctive", city=city), story.distinctive),
    ]
    return [s for s in sections if s[2]]


def _gaps(report: Report) -> list[str]:
    return [report.story.gaps] if report.story.gaps else []


def _shown(report: Report) -> list[str]:
    """Figures shown as context: not comparable, or never ranked."""
    return [*report.story.unranked, *report.story.context]


# --- HTML -------------------------------------------------------------------------------

CSS = """
body{font-family:'DejaVu Sans',Verdana,sans-serif;max-width:56rem;margin:0 auto;
padding:0 1.2rem 3rem;color:#222;line-height:1.5}
.cover{background:#b03a2e;color:#fff;margin:0 -1.2rem 2rem;padding:3rem 2rem 2.2rem}
.cover .kicker{text-transform:uppercase;letter-spacing:.12em;font-size:.8rem;opacity:.85}
.cover h1{font-size:2.2rem;margin:.4rem 0}.cover p{margin:.2rem 0}.intro{font-size:1.02rem}
h2{color:#b03a2e;border-bottom:2px solid #b03a2e;padding-bottom:.2rem;margin-top:2.2rem}
ul.strengths li{margin:.35rem 0}table{border-collapse:collapse;width:100%;font-size:.85rem}
th,td{border:1px solid #ddd;padding:.35rem .45rem;text-align:left;vertical-align:top}
th{background:#f4f4f4}tr.context td{color:#555;background:#fafafa}.standing{font-size:.78rem}
tr.compared .standing{color:#b03a2e;font-weight:bold}
.theme{background:#f1e4e2;font-weight:bold}
a.cite{text-decoration:none;color:#2e6fb0}figure{margin:1rem 0}
figcaption{font-size:.8rem;color:#555}
figure svg{width:100%;height:auto}ol.sources{font-size:.82rem}ol.sources li{margin:.2rem 0}
.en{color:#666;font-size:.9rem}
"""


def _cited(text: str) -> str:
    """Escaped text whose markers link to the sources list."""
    return re.sub(r"\[(\d+)\]", r'<a class="cite" href="#source-\1">[\1]</a>', html.escape(text))


def _svg(drawing: Drawing) -> str:
    svg = renderSVG.drawToString(drawing)
    svg = svg[svg.index("<svg") :]
    svg = re.sub(r"<title>.*?</title>\s*<desc>.*?</desc>", "", svg, flags=re.S)
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
        f'<header class="cover"><div class="kicker">{e(report.kicker)}</div>',
        f"<h1>{e(report.title)}</h1><p>{e(report.peers_line)}</p><p>{e(report.subtitle)}</p>",
        "</header>",
        f'<p class="intro cited">{_cited(report.story.intro)}</p>',
    ]
    for key, heading, sentences in _sections(report):
        out.append(f'<section id="{key}"><h2>{e(heading)}</h2><ul class="strengths">')
        out += [f'<li class="cited">{_cited(s)}</li>' for s in sentences]
        out.append("</ul></section>")
    heading = report.heading("side_by_side", city=report.city, peer=report.peer)
    out.append(
        f'<section id="side"><h2>{e(heading)}</h2><p>{e(report.heading("side_by_side_intro"))}'
        f"</p><table><tr><th>{e(report.heading('indicator'))}</th><th>{e(report.city)}</th>"
        f"<th>{e(report.peer)}</th><th>{e(report.heading('standing'))}</th></tr>"
    )
    theme = ""
    for row in report.side:
        if row.theme != theme:
            theme = row.theme
            out.append(f'<tr><td class="theme" colspan="4">{e(theme)}</td></tr>')
        cells = "".join(f'<td class="cited">{_cited(c)}</td>' for c in row.cells)
        kind = "compared" if row.compared else "context"
        out.append(
            f'<tr class="{kind}"><td>{e(row.indicator)}</td>{cells}'
            f'<td class="standing">{e(row.standing)}</td></tr>'
        )
    out.append("</table></section>")
    audience = words.name(report.audience.name)
    out.append(
        f'<section id="corridor"><h2>{e(report.heading("corridor"))}</h2><figure>'
        f"{_svg(report.corridor)}<figcaption>{e(report.corridor_caption)}</figcaption></figure>"
        f"<h3>{e(report.heading('messages', audience=audience))}</h3>"
    )
    for message in report.messages:
        english = (
            f'<br><span class="en cited" lang="en">{_cited(message.english)}</span>'
            if message.english and words.language == "en"
            else ""
        )
        out.append(f'<p><span class="cited">{_cited(message.text)}</span>{english}</p>')
    if not report.messages:
        out.append(
            f"<p>{e(report.heading('no_messages', city=report.city, audience=audience))}</p>"
        )
    out.append(
        f'</section><section id="gaps"><h2>{e(report.heading("gaps", city=report.city))}</h2><ul>'
    )
    out += [f'<li class="cited">{_cited(s)}</li>' for s in _gaps(report)]
    out.append(f'</ul></section><section id="shown"><h2>{e(report.heading("unranked"))}</h2><ul>')
    out += [f'<li class="cited">{_cited(s)}</li>' for s in _shown(report)]
    out.append(
        f'</ul></section><section id="sources"><h2>{e(report.heading("sources"))}</h2>'
        '<ol class="sources">'
    )
    out += [
        f'<li id="source-{n}">{e(bibliography(s, words))}</li>'
        for n, s in enumerate(report.sources, 1)
    ]
    out.append("</ol></section></body></html>\n")
    return "\n".join(out)


# --- PDF --------------------------------------------------------------------------------


def _styles() -> dict[str, ParagraphStyle]:
    base = ParagraphStyle("body", fontName=FONT, fontSize=9.5, leading=13.5, textColor=INK)
    white = colors.white
    return {
        "body": base,
        "kicker": ParagraphStyle("kicker", base, fontSize=9, textColor=white, leading=12),
        "cover": ParagraphStyle(
            "cover", base, fontName=BOLD, fontSize=30, leading=36, textColor=white
        ),
        "cover_line": ParagraphStyle("cover_line", base, fontSize=11, leading=15, textColor=white),
        "intro": ParagraphStyle("intro", base, fontSize=11, leading=16, spaceAfter=8),
        "h2": ParagraphStyle(
            "h2",
            base,
            fontName=BOLD,
            fontSize=14,
            leading=18,
            spaceBefore=12,
            spaceAfter=6,
            textColor=ACCENT,
        ),
        "h3": ParagraphStyle("h3", base, fontName=BOLD, fontSize=10.5, spaceBefore=6, spaceAfter=3),
        "bullet": ParagraphStyle("bullet", base, leftIndent=12, bulletIndent=0, spaceAfter=4),
        "cell": ParagraphStyle("cell", base, fontSize=7.6, leading=9.8),
        "cellbold": ParagraphStyle("cellbold", base, fontName=BOLD, fontSize=7.6, leading=9.8),
        "caption": ParagraphStyle("caption", base, fontSize=7.5, leading=10, textColor=MUTED),
        "source": ParagraphStyle("source", base, fontSize=7.3, leading=9.6, spaceAfter=2),
    }


CJK = re.compile(r"[\u2e80-\u9fff\uf900-\ufaff\uff00-\uffef]+")
"""Runs of Chinese characters (a source's title): DejaVu Sans has no glyphs for them."""


def _p(text: str, style: ParagraphStyle, bullet: str | None = None) -> Paragraph:
    """Escaped text; Chinese runs set in reportlab's STSong-Light (a CID font every PDF
    reader supplies), the rest in DejaVu Sans."""
    escaped = CJK.sub(lambda m: f'<font name="{CJK_FONT}">{m.group(0)}</font>', html.escape(text))
    return Paragraph(escaped, style, bulletText=bullet)


def to_pdf(report: Report) -> bytes:
    """A4: a cover page, then the sections; each later page headed and numbered."""
    register_fonts()
    s = _styles()
    words = report.words
    story: list[Flowable] = [
        Spacer(1, 30 * mm),
        _p(report.kicker.upper(), s["kicker"]),
        Spacer(1, 4 * mm),
        _p(report.title, s["cover"]),
        Spacer(1, 4 * mm),
        _p(report.peers_line, s["cover_line"]),
        _p(report.subtitle, s["cover_line"]),
        Spacer(1, 40 * mm),
        _p(report.story.intro, s["intro"]),
        _p(report.heading("strengths", city=report.city), s["h2"]),
        *[_p(t, s["bullet"], "•") for t in report.story.strengths],
        PageBreak(),
    ]
    for _, heading, sentences in _sections(report)[1:]:
        story.append(_p(heading, s["h2"]))
        story += [_p(t, s["bullet"], "•") for t in sentences]
    story.append(_p(report.heading("side_by_side", city=report.city, peer=report.peer), s["h2"]))
    story.append(_p(report.heading("side_by_side_intro"), s["caption"]))
    story.append(Spacer(1, 4))
    width = A4[0] - 36 * mm
    widths = [width * 0.22, width * 0.29, width * 0.29, width * 0.20]
    rows: list[list[Flowable]] = [
        [
            _p(t, s["cellbold"])
            for t in (
                report.heading("indicator"),
                report.city,
                report.peer,
                report.heading("standing"),
            )
        ]
    ]
    styles: list[tuple[Any, ...]] = [
        ("GRID", (0, 0), (-1, -1), 0.4, GRID),
        ("BACKGROUND", (0, 0), (-1, 0), colors.HexColor("#f1f1f1")),
        ("VALIGN", (0, 0), (-1, -1), "TOP"),
    ]
    theme = ""
    for row in report.side:
        if row.theme != theme:
            theme = row.theme
            styles += [
                ("SPAN", (0, len(rows)), (-1, len(rows))),
                ("BACKGROUND", (0, len(rows)), (-1, len(rows)), colors.HexColor("#f1e4e2")),
            ]
            rows.append([_p(theme, s["cellbold"]), Spacer(0, 0), Spacer(0, 0), Spacer(0, 0)])
        standing = ParagraphStyle("st", s["cell"], textColor=ACCENT if row.compared else MUTED)
        if not row.compared:
            styles.append(
                ("BACKGROUND", (0, len(rows)), (-1, len(rows)), colors.HexColor("#fafafa"))
            )
        rows.append(
            [_p(row.indicator, s["cellbold"]), *(_p(c, s["cell"]) for c in row.cells),
             _p(row.standing, standing)]
        )  # fmt: skip
    table = Table(rows, colWidths=widths, repeatRows=1)
    table.setStyle(TableStyle(styles))
    story.append(table)
    story.append(CondPageBreak(report.corridor.height * width / report.corridor.width + 40 * mm))
    story.append(_p(report.heading("corridor"), s["h2"]))
    scale = width / report.corridor.width
    corridor = report.corridor
    corridor.scale(scale, scale)
    corridor.width, corridor.height = width, corridor.height * scale
    story += [corridor, _p(report.corridor_caption, s["caption"]), Spacer(1, 6)]
    audience = words.name(report.audience.name)
    story.append(_p(report.heading("messages", audience=audience), s["h3"]))
    story += [_p(m.text, s["bullet"], "•") for m in report.messages]
    if not report.messages:
        story.append(
            _p(report.heading("no_messages", city=report.city, audience=audience), s["body"])
        )
    story.append(_p(report.heading("gaps", city=report.city), s["h2"]))
    story += [_p(t, s["bullet"], "•") for t in _gaps(report)]
    story.append(_p(report.heading("unranked"), s["h2"]))
    story += [_p(t, s["bullet"], "•") for t in _shown(report)]
    story.append(_p(report.heading("sources"), s["h2"]))
    story += [
        _p(f"[{n}] {bibliography(source, words)}", s["source"])
        for n, source in enumerate(report.sources, 1)
    ]

    def cover(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFillColor(ACCENT)
        canvas.rect(0, A4[1] - 125 * mm, A4[0], 125 * mm, stroke=0, fill=1)
        canvas.restoreState()

    def page(canvas: Canvas, doc: SimpleDocTemplate) -> None:
        canvas.saveState()
        canvas.setFont(FONT, 7)
        canvas.setFillColor(MUTED)
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
        lang=words.language,
    )
    doc.build(story, onFirstPage=cover, onLaterPages=page)
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
