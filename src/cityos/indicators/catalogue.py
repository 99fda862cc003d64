"""The indicator catalogue: ISO 37120 themes, and indicators with their definitions.

An indicator is attributed to ISO 37120 only with the public source its name was read from;
the others are cityos's own (source "cityos"), under the theme they belong to, or `smart` for
what only a smart city measures of itself. Derived indicators
(per 100 000 population, per capita) name their numerator and scale, so comparison computes
them from reference values instead of trusting pre-divided figures.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path
from typing import Any, Literal

import yaml

THEMES: tuple[str, ...] = (
    "economy",
    "education",
    "energy",
    "environment",
    "finance",
    "governance",
    "health",
    "housing",
    "population",
    "recreation",
    "safety",
    "solid waste",
    "sport and culture",
    "telecommunication",
    "transportation",
    "urban agriculture",
    "urban planning",
    "wastewater",
    "water",
    "smart",
)
"""The ISO 37120 themes as issue 7 lists them, then `smart` for what cityos measures."""

DEFAULT_WINDOW = 5
"""Years between the oldest and newest value ranked together, unless an indicator says."""

Better = Literal["higher", "lower", "neutral"]
"""Which way a city is better off; `neutral` for context (a population), never ranked."""


class CatalogueError(ValueError):
    """A catalogue file that cannot be used; the message names the file and the entry."""


@dataclass(frozen=True, slots=True)
class Indicator:
    id: str
    theme: str
    name: str
    definition: str
    unit: str
    better: Better
    formula: str
    source: str
    numerator: str | None = None
    """For a derived indicator: the indicator divided by population."""
    per: int | None = None
    """For a derived indicator: the population scale (100 000, or 1 for per capita)."""
    live: str | None = None
    """`pack/kpi`: the KPI a city computes this indicator from (see `live.py`)."""
    live_scale: float = 1.0
    """Multiplies the KPI into the indicator's unit (100 for a ratio shown in %)."""
    comparable: tuple[str, ...] = ()
    """The areas on which cities are ranked (reference `area`); empty: never ranked."""
    window: int = DEFAULT_WINDOW
    """Ranked values lie within this many years of the newest of them."""

    @property
    def derived(self) -> bool:
        return self.numerator is not None


@dataclass(frozen=True, slots=True)
class Catalogue:
    indicators: dict[str, Indicator]

    def __getitem__(self, indicator_id: str) -> Indicator:
        return self.indicators[indicator_id]

    def __contains__(self, indicator_id: object) -> bool:
        return indicator_id in self.indicators

    def by_theme(self) -> dict[str, list[Indicator]]:
        """Indicators grouped by theme, in the themes' order; empty themes kept."""
        grouped: dict[str, list[Indicator]] = {theme: [] for theme in THEMES}
        for indicator in self.indicators.values():
            grouped[indicator.theme].append(indicator)
        return grouped


_FIELDS = ("id", "theme", "name", "definition", "unit", "better", "formula", "source")


def _indicator(where: str, entry: Any) -> Indicator:
    if not isinstance(entry, dict):
        raise CatalogueError(f"{where}: an indicator must be a mapping")
    missing = [f for f in _FIELDS if not isinstance(entry.get(f), str) or not entry[f].strip()]
    if missing:
        raise CatalogueError(f"{where}: missing or empty {', '.join(missing)}")
    if entry["theme"] not in THEMES:
        raise CatalogueError(f"{where}: unknown theme {entry['theme']!r}")
    if entry["better"] not in ("higher", "lower", "neutral"):
        raise CatalogueError(f"{where}: better must be 'higher', 'lower' or 'neutral'")
    if entry["id"].startswith("iso37120-") and "ISO 37120" not in entry["source"]:
        raise CatalogueError(f"{where}: an ISO 37120 indicator must cite where its name is from")
    numerator, per = entry.get("numerator"), entry.get("per")
    if (numerator is None) != (per is None) or (per is not None and not isinstance(per, int)):
        raise CatalogueError(f"{where}: a derived indicator needs both numerator and per (int)")
    live, scale = entry.get("live"), entry.get("live_scale", 1.0)
    if live is not None and (not isinstance(live, str) or live.count("/") != 1):
        raise CatalogueError(f"{where}: live must be 'pack/kpi'")
    if isinstance(scale, bool) or not isinstance(scale, int | float) or scale <= 0:
        raise CatalogueError(f"{where}: live_scale must be a positive number")
    comparable, window = entry.get("comparable"), entry.get("window", DEFAULT_WINDOW)
    if not isinstance(comparable, list) or not all(isinstance(a, str) for a in comparable):
        raise CatalogueError(f"{where}: comparable must list the areas it ranks on ([] for none)")
    if isinstance(window, bool) or not isinstance(window, int) or window < 0:
        raise CatalogueError(f"{where}: window must be a whole number of years")
    return Indicator(
        **{f: entry[f].strip() for f in _FIELDS},
        numerator=numerator,
        per=per,
        live=live,
        live_scale=float(scale),
        comparable=tuple(comparable),
        window=window,
    )


def load_catalogue(path: Path | None = None) -> Catalogue:
    """The catalogue in `path`, or the packaged one."""
    if path is None:
        source = resources.files("cityos.indicators").joinpath("data/catalogue.yaml")
        name, text = "catalogue.yaml", source.read_text("utf-8")
    else:
        name, text = str(path), path.read_text("utf-8")
    document = yaml.safe_load(text)
    entries = document.get("indicators") if isinstance(document, dict) else None
    if not isinstance(entries, list):
        raise CatalogueError(f"{name}: no `indicators` list")
    indicators: dict[str, Indicator] = {}
    for number, entry in enumerate(entries, 1):
        indicator = _indicator(f"{name}, indicator {number}", entry)
        if indicator.id in indicators:
            raise CatalogueError(f"{name}, indicator {number}: duplicate id {indicator.id!r}")
        indicators[indicator.id] = indicator
    for indicator in indicators.values():
        if indicator.numerator is not None and indicator.numerator not in indicators:
            raise CatalogueError(
                f"{name}: {indicator.id} derives from unknown {indicator.numerator}"
            )
    return Catalogue(indicators)


@cache
def catalogue() -> Catalogue:
    """The packaged catalogue, read once."""
    return load_catalogue()
