"""No string from the API becomes HTML: a static scan of every module of the dashboard
(web/js) and of the citizens' pages (web/citizen).

- Markup sinks (innerHTML, outerHTML, insertAdjacentHTML, document.write,
  createContextualFragment, srcdoc, DOMParser) appear in no module at all: pages build
  nodes with ui.el() and textContent.
- Leaflet's HTML sinks (bindTooltip, bindPopup, setContent, setTooltipContent,
  setPopupContent, L.divIcon, L.tooltip, L.popup) appear only in js/maps.js, the one helper
  every tooltip, popup and icon goes through, and there only on a node built by its
  textContent builders (asNode, span).
- ECharts renders a tooltip `formatter`'s string as HTML: no module gives one (its
  valueFormatter output is escaped by ECharts).

The scanner is checked first against snippets of each pattern it must catch.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

WEB = Path(__file__).parents[2] / "src" / "cityos" / "web"
WEB_JS = WEB / "js"
HELPER = "maps.js"
NODE_BUILDERS = ("asNode(", "span(")
"""The helper's functions that make a node from text with textContent."""

MARKUP_SINK = re.compile(
    r"\.(?:innerHTML|outerHTML|srcdoc)\s*\+?=|\binsertAdjacentHTML\s*\(|"
    r"\bdocument\.write(?:ln)?\s*\(|\bcreateContextualFragment\s*\(|\bDOMParser\b"
)
LEAFLET_SINK = re.compile(
    r"\.(?:bindTooltip|bindPopup|setContent|setTooltipContent|setPopupContent)\s*\(|"
    r"\bL\.(?:divIcon|tooltip|popup)\s*\(|\bnew\s+L\.(?:DivIcon|Tooltip|Popup)\s*\("
)
ECHARTS_TOOLTIP_FORMATTER = re.compile(r"\btooltip\s*:\s*\{[^{}]*\bformatter\s*:")
COMMENT = re.compile(r"/\*.*?\*/|(?<![:\"'`\\])//[^\n]*", re.DOTALL)


def _argument(text: str, start: int) -> str:
    """The first argument of the call whose "(" is just before `start`, as written."""
    depth = 0
    for index in range(start, len(text)):
        char = text[index]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                return text[start:index].strip()
            depth -= 1
        elif char == "," and depth == 0:
            return text[start:index].strip()
    return text[start:].strip()


def _content(text: str, match: re.Match[str]) -> str:
    """What a Leaflet sink is given as content: its first argument, or a divIcon's html."""
    argument = _argument(text, match.end())
    if "divIcon" in match.group() or "DivIcon" in match.group():
        html = re.search(r"\bhtml\s*:\s*", argument)
        return _argument(argument, html.end()) if html else '""'
    return argument


def sinks(source: str, helper: bool = False) -> list[str]:
    """Every HTML sink in a module's source that may take text from the API, one line each."""
    text = COMMENT.sub("", source)
    found = [f"markup sink: {m.group().strip()}" for m in MARKUP_SINK.finditer(text)]
    found += [
        f"ECharts tooltip formatter: {m.group()!r}"
        for m in ECHARTS_TOOLTIP_FORMATTER.finditer(text)
    ]
    for match in LEAFLET_SINK.finditer(text):
        content = _content(text, match)
        if not helper:
            found.append(f"Leaflet sink outside js/{HELPER}: {match.group()}{content}…")
        elif not content.startswith(NODE_BUILDERS):
            found.append(f"Leaflet sink given text, not a node: {match.group()}{content}…")
    return found


CAUGHT = [
    "el.innerHTML = `<b>${entity.name}</b>`;",
    "el.innerHTML += name;",
    "box.outerHTML = '<p>' + text + '</p>';",
    "list.insertAdjacentHTML('beforeend', `<li>${x}</li>`);",
    "document.write(name);",
    "range.createContextualFragment(html);",
    "new DOMParser().parseFromString(text, 'text/html');",
    "marker.bindTooltip(`${name} · ${t('x')}`, { direction: 'top' });",
    "marker.bindTooltip(title, { direction: 'top' });",
    "marker.bindTooltip(() => `${localName(village)}`);",
    "layer.bindPopup('<strong>' + name + '</strong>');",
    "marker.setTooltipContent(label());",
    "popup.setContent(station.name);",
    "L.divIcon({ className: 'x', html: `<span>${glyph}</span>`, iconSize: [8, 8] });",
    'L.divIcon({ html: "<span>" + aqi + "</span>" });',
    "L.popup().setContent(text)",
    "new L.Tooltip({}, layer)",
    "chart.setOption({ tooltip: { trigger: 'item', formatter: (p) => p.name } });",
]
CLEAN = [
    "maps.tooltip(marker, title, { direction: 'top' });",
    "el('div', { text: entity.name });",
    "node.textContent = name;",
    "chart.setOption({ tooltip: { trigger: 'axis', valueFormatter: (v) => `${v} m` } });",
    "label: { formatter: m.name }",
    "// el.innerHTML = x is what we never write",
]


@pytest.mark.parametrize("snippet", CAUGHT)
def test_the_scanner_catches_a_sink(snippet: str) -> None:
    assert sinks(snippet), snippet


@pytest.mark.parametrize("snippet", CLEAN)
def test_the_scanner_passes_dom_building(snippet: str) -> None:
    assert sinks(snippet) == []


def test_the_helper_must_give_leaflet_nodes() -> None:
    assert sinks("return layer.bindTooltip(asNode(content), options);", helper=True) == []
    assert sinks("L.divIcon({ html: span('dot', glyph, style) })", helper=True) == []
    assert sinks("return layer.bindTooltip(content, options);", helper=True)
    assert sinks("L.divIcon({ html: `<span>${glyph}</span>` })", helper=True)


MODULES = sorted(path for path in WEB.rglob("*.js") if "vendor" not in path.relative_to(WEB).parts)
"""Every module the city writes itself, wherever it sits under web/ (not the vendored
libraries)."""


@pytest.mark.parametrize("module", MODULES, ids=[str(m.relative_to(WEB)) for m in MODULES])
def test_no_module_puts_api_text_into_html(module: Path) -> None:
    found = sinks(module.read_text("utf-8"), helper=module == WEB_JS / HELPER)
    assert found == [], f"{module.relative_to(WEB)}:\n  " + "\n  ".join(found)


def test_every_page_module_is_scanned() -> None:
    assert {"maps.js", "main.js", "ui.js"} <= {m.name for m in MODULES}
    assert len([m for m in MODULES if m.parent.name == "pages"]) >= 9
    citizen = {m.name for m in MODULES if m.parent.name == "citizen"}
    assert {"main.js", "report.js", "track.js", "map.js", "common.js"} <= citizen
