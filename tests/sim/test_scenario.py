"""Scenario files: the packaged ones load; every mistake is named with its member."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from cityos.sim.packs import PACK_MODULES
from cityos.sim.scenario import ScenarioError, load_scenario, parse_scenario, scenario_names


def test_the_packaged_scenarios_load() -> None:
    assert scenario_names() == ["chongqing", "warsaw"]
    chongqing = load_scenario("chongqing")
    assert len(chongqing.districts) == 38
    assert set(chongqing.packs) == set(PACK_MODULES)
    assert chongqing.start is None and chongqing.speed == 1 and chongqing.tick == 10
    warsaw = load_scenario("warsaw")
    assert len(warsaw.districts) == 0 and set(warsaw.packs) == {"mobility"}


def test_a_scenario_file_by_path(tmp_path: Path) -> None:
    path = tmp_path / "mini.yaml"
    path.write_text(
        "name: mini\nboundaries: chongqing\nseed: 7\nspeed: 60\n"
        "start: 2026-07-01T08:00:00+08:00\npacks: {environment: {stations: 1}}\n"
    )
    mini = load_scenario(str(path))
    assert mini.start == datetime(2026, 7, 1, 0, 0, tzinfo=UTC)
    assert (mini.seed, mini.speed, mini.packs) == (7, 60.0, {"environment": {"stations": 1}})


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ([], "a scenario is a mapping"),
        ({"name": "x", "colour": "red"}, "colour: unknown"),
        ({"name": 3}, "name: must be text"),
        ({"name": "x", "speed": 0}, "speed: must be a positive number"),
        ({"name": "x", "seed": True}, "seed: must be a positive number"),
        ({"name": "x", "start": "soon"}, "start: 'soon' is neither"),
        ({"name": "x", "start": "2026-07-01T08:00:00"}, "start: needs a time zone"),
        ({"name": "x", "packs": ["mobility"]}, "packs: a mapping"),
        ({"name": "x", "boundaries": "atlantis.geojson"}, "boundaries:"),
        ({"name": "x", "packs": {"rural": {}}, "history": {"environment": 24}}, "not a pack"),
        ({"name": "x", "packs": {"rural": {}}, "history": {"rural": 0}}, "hours between"),
    ],
)
def test_mistakes_are_named(document: object, message: str) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_scenario(document, "test.yaml", Path("/nonexistent"))


def test_unknown_names_and_files() -> None:
    with pytest.raises(ScenarioError, match="no scenario 'atlantis'; packaged: chongqing, warsaw"):
        load_scenario("atlantis")
    with pytest.raises(ScenarioError, match="cannot be read"):
        load_scenario("/nonexistent/city.yaml")
