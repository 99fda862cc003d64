"""The strengths report as HTML and PDF, and `cityos report strengths`."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import ImageStat
from reportlab.graphics.shapes import Polygon
from typer.testing import CliRunner

from cityos.cli import app
from cityos.indicators.audiences import audience, packaged_links
from cityos.indicators.reference import ReferenceValue, packaged_reference
from cityos.indicators.report import Report, ReportError, build, to_html, to_pdf, write

from .citecheck import markers, uncited
from .test_strengths import new_city

PEERS = ["london", "warsaw", "duisburg"]
VOID = {"br", "meta", "link", "img", "hr", "input"}


@pytest.fixture(scope="module")
def chongqing() -> Report:
    return build("chongqing", PEERS, packaged_reference(), packaged_links(), audience("poland"))


class Page(HTMLParser):
    """The text of the page, of each element marked `cited`, and what it loads."""

    def __init__(self) -> None:
        super().__init__()
        self.text: list[str] = []
        self.cited: list[list[str]] = []
        self.open_cited: list[int] = []
        self.depth = 0
        self.svg_texts: list[str] = []
        self.in_svg_text = False
        self.loads: list[str] = []
        self.svgs = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        found = dict(attrs)
        if tag not in VOID:
            self.depth += 1
        if "cited" in (found.get("class") or "").split():
            self.open_cited.append(self.depth)
            self.cited.append([])
        if tag == "svg":
            self.svgs += 1
        self.in_svg_text = tag == "text"
        for key in ("src", "href"):
            value = found.get(key) or ""
            if value and not value.startswith("#"):
                self.loads.append(value)
        if tag == "link":
            self.loads.append(found.get("href") or "link")

    def handle_endtag(self, tag: str) -> None:
        if self.open_cited and self.open_cited[-1] == self.depth:
            self.open_cited.pop()
        self.depth -= 1
        self.in_svg_text = False

    def handle_data(self, data: str) -> None:
        self.text.append(data)
        if self.open_cited:
            self.cited[-1].append(data)
        if self.in_svg_text:
            self.svg_texts.append(data)


def parse(html: str) -> Page:
    page = Page()
    page.feed(html)
    return page


def chart_labels(report: Report) -> list[str]:
    return [chart.caption for chart in report.charts]


def test_the_report_tables_cite_every_value(chongqing: Report) -> None:
    for theme in chongqing.themes:
        for row in theme.rows:
            for cell in row.cells:
                assert cell == "brak" or re.search(r"\(.+\)(\[\d+\])+$", cell), cell
    assert chongqing.sources[-3:] == [
        "namiary.pl, 2012",
        "New Silk Road Discovery, China\u2013Europe rail freight data 2023",
        "ecns.cn, 2021-03-22",
    ]


def test_html_is_self_contained_and_cites_every_number(chongqing: Report) -> None:
    page = parse(to_html(chongqing))
    text = "".join(page.text)
    assert page.loads == []  # no network: no stylesheet, script or image to fetch
    assert page.svgs == len(chongqing.charts) == 3  # two compared indicators, theme scores
    for name in ("Chongqing", "Londyn", "Warszawa", "Duisburg", "Małaszewicze"):
        assert name in text
    for source in chongqing.sources:
        assert source in text
    assert page.cited
    for element in page.cited:
        assert uncited("".join(element)) == [], element
    assert any(re.search(r"\d", label) for label in page.svg_texts)
    for label in page.svg_texts:
        assert uncited(label, chart_labels(chongqing)) == [], label
    used = set().union(*(markers("".join(e)) for e in page.cited))
    assert used == set(range(1, len(chongqing.sources) + 1))  # each source cited, none more


def text_of(pdf: pdfium.PdfDocument) -> list[str]:
    return [page.get_textpage().get_text_range() for page in pdf]


def test_the_pdf_renders_pages_that_carry_names_and_citations(chongqing: Report) -> None:
    data = to_pdf(chongqing)
    assert b"DejaVuSans" in data  # embedded: the standard fonts have no ż or ś
    pdf = pdfium.PdfDocument(data)
    assert len(pdf) >= 2
    for page in pdf:
        image = page.render(scale=0.5).to_pil().convert("L")
        assert ImageStat.Stat(image).stddev[0] > 10  # not blank
    pages = text_of(pdf)
    text = "\n".join(pages)
    for name in ("Chongqing", "Londyn", "Warszawa", "Duisburg", "Małaszewicze", "Brześć"):
        assert name in text
    for source in chongqing.sources:
        assert " ".join(source.split()) in " ".join(text.split())
    # Every figure in the body is cited: take off the running head, the page numbers and
    # the sources list (whose names carry dates of their own).
    head = f"{chongqing.title} · {chongqing.subtitle}"
    body = "\n".join(page.replace(head, "") for page in pages)
    body = re.sub(r"strona \d+", "", body)
    body = body[: body.rindex(chongqing.heading("sources"))]
    body = body.replace(chongqing.subtitle, "")
    assert uncited(body, chart_labels(chongqing)) == []
    assert markers(body) == set(range(1, len(chongqing.sources) + 1))


def test_an_english_report_keeps_the_audiences_messages_in_polish_beside_english() -> None:
    report = build(
        "chongqing", PEERS, packaged_reference(), packaged_links(), audience("poland"), "en"
    )
    text = "".join(parse(to_html(report)).text)
    assert "Standing by theme" in text and "Chongqing leads on no indicator" in text
    assert "zmieniany jest w miejscowości Małaszewicze" in text
    assert "change gauge at Małaszewicze, opposite Brest" in text


def scored(city: str, theme_values: dict[str, float]) -> list[ReferenceValue]:
    return [
        ReferenceValue(city, indicator, value, "u", 2020, "city proper", f"{city} office")
        for indicator, value in theme_values.items()
    ]


def test_three_scored_themes_make_a_radar_and_a_report_without_messages_says_so() -> None:
    values = scored("a", {"gdp": 10, "urban-rail-length": 5, "freight-teu-per-year": 7})
    values += scored("b", {"gdp": 20, "urban-rail-length": 5, "freight-teu-per-year": 1})
    report = build("a", ["b"], values, [], audience("uk"))
    radar = report.charts[-1].drawing
    assert sum(isinstance(shape, Polygon) for shape in radar.contents) == 4 + 2  # rings, cities
    assert len(report.charts) == 3 + 1
    assert "No cited link" in "".join(parse(to_html(report)).text)


def test_write_chooses_the_format_by_extension(chongqing: Report, tmp_path: Path) -> None:
    write(chongqing, tmp_path / "r.pdf")
    assert (tmp_path / "r.pdf").read_bytes().startswith(b"%PDF")
    write(chongqing, tmp_path / "r.html")
    assert (tmp_path / "r.html").read_text("utf-8").startswith("<!DOCTYPE html>")
    with pytest.raises(ReportError, match=r"\.html or \.pdf"):
        write(chongqing, tmp_path / "r.docx")
    with pytest.raises(ReportError, match="no reference values for atlantis"):
        build("atlantis", PEERS, packaged_reference(), [], audience("world"))


def test_cli_writes_html_and_pdf_and_prints_a_summary(tmp_path: Path) -> None:
    for name in ("report.html", "report.pdf"):
        out = tmp_path / name
        args = ["report", "strengths", "chongqing", "--peers", "london,warsaw,duisburg"]
        result = CliRunner().invoke(app, [*args, "--audience", "poland", "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert "leads 0, peer leads 2, distinctive 6, messages 4, sources 10" in result.output
        assert name in result.output and out.stat().st_size > 1000


def test_cli_a_new_city_from_csv_gets_its_own_report(tmp_path: Path) -> None:
    _, links = new_city(tmp_path)
    out = tmp_path / "testville.html"
    args = ["report", "strengths", "testville", "--peers", "london,warsaw", "--audience"]
    result = CliRunner().invoke(
        app,
        [
            *args,
            *("poland", "--out", str(out), "--reference", str(tmp_path / "testville.csv")),
            *("--links", str(links), "--language", "en"),
        ],
    )
    assert result.exit_code == 0, result.output
    text = "".join(parse(out.read_text("utf-8")).text)
    assert "Testville leads on Kilometres of high capacity public transport system" in text
    assert "Przejazd koleją Testville \u2013 Warszawa: około 10 godzin" in text
    assert "Berlin" not in text  # a link to Germany is not the Polish reader's
    assert "Testville census 2024" in text


@pytest.mark.parametrize(
    ("option", "value", "expected"),
    [
        ("--audience", "mars", "known audiences: germany, poland, uk, world"),
        ("--out", "report.docx", ".html or .pdf"),
        ("--language", "xx", "known: en, pl"),
    ],
)
def test_cli_refuses_clearly(tmp_path: Path, option: str, value: str, expected: str) -> None:
    given = {"--audience": "poland", "--out": str(tmp_path / "r.html"), "--language": "en"}
    given[option] = value if option != "--out" else str(tmp_path / value)
    args = ["report", "strengths", "chongqing", "--peers", "london"]
    result = CliRunner().invoke(app, [*args, *(x for kv in given.items() for x in kv)])
    assert result.exit_code == 2
    unboxed = re.sub("[\u2500-\u257f]", " ", result.output)  # Rich's error panel
    assert expected in " ".join(unboxed.split())
