"""A scenario file: which city, which domain packs with which parameters, how fast.

name: chongqing
description: The demo city.
boundaries: chongqing     # packaged boundaries, a GeoJSON path (relative to the file), or null
seed: 2026                # the same seed gives the same run
speed: 1                  # simulated seconds per real second
tick: 10                  # simulated seconds per step
start: now                # or an ISO 8601 date-time with a zone
tenant: ""                # the NGSI-LD tenant the city lives in
packs:                    # pack name → its parameters (see each pack's docstring)
  environment: {}
  manufacturing: {factories: 3}
history:                  # pack name → hours of recent history back-filled at the start
  environment: 24         # (simulated, and marked so: see Simulation.backfill)
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import yaml

from cityos.governance.districts import Districts
from cityos.indicators.live import LiveCity, LiveCityError, parse_live_city

PACKAGED = resources.files("cityos") / "sim" / "scenarios"


MEMBERS = frozenset(
    {"name", "description", "boundaries", "seed", "speed", "tick", "start", "tenant", "packs"}
)


class ScenarioError(ValueError):
    """A scenario file that cannot be run; the message names the file and the member."""


@dataclass(frozen=True, slots=True)
class Scenario:
    name: str
    description: str
    districts: Districts
    seed: int
    speed: float
    tick: float
    start: datetime | None
    """None: the moment the run starts."""
    tenant: str
    packs: dict[str, dict[str, Any]] = field(default_factory=dict)
    live: LiveCity | None = None
    """The city the scenario models and the indicators it computes of itself."""
    history: dict[str, float] = field(default_factory=dict)
    """Pack name → hours of recent history the simulator back-fills before going live."""


def scenario_names() -> list[str]:
    """The scenarios that ship with cityos."""
    return sorted(
        p.name.removesuffix(".yaml") for p in PACKAGED.iterdir() if p.name.endswith(".yaml")
    )


def load_scenario(name_or_path: str) -> Scenario:
    """A packaged scenario by name (`chongqing`), or a scenario file by path."""
    path = Path(name_or_path)
    if not path.suffix:
        packaged = PACKAGED / f"{name_or_path}.yaml"
        if not packaged.is_file():
            known = ", ".join(scenario_names())
            raise ScenarioError(f"There is no scenario {name_or_path!r}; packaged: {known}.")
        text, base = packaged.read_text("utf-8"), None
    else:
        try:
            text, base = path.read_text("utf-8"), path.parent
        except OSError as error:
            raise ScenarioError(f"{path}: cannot be read ({error.strerror}).") from None
    try:
        document = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise ScenarioError(f"{name_or_path}: not YAML ({error}).") from None
    return parse_scenario(document, name_or_path, base)


def parse_scenario(document: Any, source: str, base: Path | None = None) -> Scenario:
    def fail(member: str, problem: str) -> ScenarioError:
        return ScenarioError(f"{source}: {member}: {problem}")

    if not isinstance(document, dict):
        raise fail("(top)", "a scenario is a mapping")
    known = {
        "name",
        "description",
        "boundaries",
        "seed",
        "speed",
        "tick",
        "start",
        "tenant",
        "packs",
        "indicators",
        "history",
    }
    unknown = set(document) - known
    if unknown:
        raise fail(
            ", ".join(sorted(unknown)), f"unknown; a scenario has {', '.join(sorted(known))}"
        )
    packs = document.get("packs") or {}
    if not isinstance(packs, dict) or not all(
        isinstance(k, str) and isinstance(v, dict | None) for k, v in packs.items()
    ):
        raise fail("packs", "a mapping of pack names to parameter mappings")
    tenant = _text(document, "tenant", fail, "")
    live = None
    if document.get("indicators") is not None:
        try:
            live = parse_live_city(document["indicators"], "indicators")
        except LiveCityError as error:
            raise ScenarioError(f"{source}: {error}") from None
        live = replace(live, tenant=tenant)
    return Scenario(
        name=_text(document, "name", fail, source),
        description=_text(document, "description", fail, ""),
        districts=_districts(document.get("boundaries"), base, fail),
        seed=_number(document, "seed", fail, 1, int),
        speed=_number(document, "speed", fail, 1.0, float),
        tick=_number(document, "tick", fail, 10.0, float),
        start=_start(document.get("start", "now"), fail),
        tenant=tenant,
        packs={name: dict(params or {}) for name, params in packs.items()},
        live=live,
        history=_history(document.get("history"), packs, fail),
    )


def _history(value: Any, packs: dict[str, Any], fail: Any) -> dict[str, float]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise fail("history", "a mapping of pack names to hours")
    out: dict[str, float] = {}
    for name, hours in value.items():
        if name not in packs:
            raise fail(f"history.{name}", "not a pack of this scenario")
        if isinstance(hours, bool) or not isinstance(hours, int | float) or not 0 < hours <= 168:
            raise fail(f"history.{name}", "hours between 0 and 168")
        out[name] = float(hours)
    return out


def _text(document: dict[str, Any], member: str, fail: Any, default: str) -> str:
    value = document.get(member, default)
    if not isinstance(value, str):
        raise fail(member, "must be text")
    return value


_N = TypeVar("_N", int, float)


def _number(document: dict[str, Any], member: str, fail: Any, default: _N, kind: type[_N]) -> _N:
    value = document.get(member, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise fail(member, "must be a positive number")
    return kind(value)


def _start(value: Any, fail: Any) -> datetime | None:
    if value == "now":
        return None
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            raise fail("start", f"{value!r} is neither 'now' nor an ISO 8601 date-time") from None
    else:
        raise fail("start", "must be 'now' or an ISO 8601 date-time")
    if moment.tzinfo is None:
        raise fail("start", "needs a time zone (Z or +08:00)")
    return moment.astimezone(UTC)


def _districts(value: Any, base: Path | None, fail: Any) -> Districts:
    if value is None:
        return Districts([])
    if not isinstance(value, str):
        raise fail("boundaries", "a packaged city name or a GeoJSON path")
    if value in Districts.packaged_names():
        return Districts.packaged(value)
    path = (base / value) if base is not None else Path(value)
    try:
        return Districts.load(path)
    except (OSError, ValueError) as error:
        raise fail("boundaries", str(error)) from None
