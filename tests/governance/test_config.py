"""The governance configuration: the packaged Chongqing file, and every mistake it catches."""

from __future__ import annotations

import copy
import json
import re
from collections.abc import Callable
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from cityos.governance.config import (
    DEFAULT_CONFIG,
    Category,
    ConfigError,
    ServiceAttribute,
    load_config,
    parse_duration,
)
from cityos.governance.deadlines import WallClock, WorkingCalendar
from cityos.governance.model import Priority, Stage

JIEFANGBEI = (106.577, 29.557)
WANZHOU = (108.40, 30.80)


# -- the packaged configuration --------------------------------------------------------------


@pytest.fixture(scope="module")
def packaged() -> Any:
    return load_config()


def test_the_packaged_configuration_loads(packaged: Any) -> None:
    assert packaged.city == "chongqing"
    assert len(packaged.districts) == 38
    assert packaged.grid_resolution == 8
    assert list(packaged.categories)[:3] == ["pothole", "streetlight-out", "illegal-dumping"]
    assert len(packaged.categories) >= 14
    assert len(packaged.departments) >= 12
    assert packaged.router.fallback == "street-office"
    assert packaged.duplicate_distance_m == 50.0
    assert packaged.duplicate_window == timedelta(days=7)
    assert packaged.reopen_window == timedelta(days=30)
    assert packaged.escalation_role == "supervisor"
    for category in packaged.categories.values():
        assert category.name_zh, category.code


def test_every_name_the_packaged_file_uses_exists(packaged: Any) -> None:
    document = yaml.safe_load(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    rules = document["routing"]["rules"] + document["deadlines"]["rules"]
    for rule in document["routing"]["rules"]:
        for name in rule.get("districts", []):
            assert packaged.districts.find(name) is not None, name
        assert rule["department"] in packaged.departments
    for rule in rules:
        categories = rule.get("category", [])
        for code in [categories] if isinstance(categories, str) else categories:
            assert code in packaged.categories, code


@pytest.mark.parametrize(
    ("category", "location", "department"),
    [
        ("pothole", JIEFANGBEI, "central-roads"),
        ("pothole", WANZHOU, "roads"),
        ("flood", (106.5867, 29.5661), "emergency"),  # Chaotianmen
        ("waterlogging", (106.5867, 29.5661), "emergency"),
        ("waterlogging", WANZHOU, "water"),
        ("noise", WANZHOU, "environment"),
        ("machine-fault", JIEFANGBEI, "economy"),
        ("irrigation-alert", WANZHOU, "agriculture"),
        ("freight-delay", (106.45, 29.62), "port-logistics"),
        ("building-safety", JIEFANGBEI, "housing"),
        ("other", JIEFANGBEI, "street-office"),
    ],
)
def test_the_packaged_routing(
    packaged: Any, category: str, location: tuple[float, float], department: str
) -> None:
    assert packaged.router.route(category, location).department == department


def test_every_packaged_category_reaches_a_department(packaged: Any) -> None:
    for code in packaged.categories:
        routing = packaged.router.route(code, JIEFANGBEI)
        assert routing.department in packaged.departments
        assert (routing.department == "street-office") == (code == "other"), code


def test_the_packaged_calendar_is_chinas_2026_working_week(packaged: Any) -> None:
    calendar = packaged.deadlines.calendar
    assert isinstance(calendar, WorkingCalendar)
    assert calendar.timezone.key == "Asia/Shanghai"
    assert (calendar.start, calendar.end) == (time(9), time(18))
    assert not calendar.is_working_day(date(2026, 10, 1))  # National Day
    assert not calendar.is_working_day(date(2026, 2, 16))  # Spring Festival, a Monday
    assert calendar.is_working_day(date(2026, 2, 14))  # a Saturday worked in exchange
    assert calendar.is_working_day(date(2026, 9, 29))


def test_packaged_deadlines_count_working_days(packaged: Any) -> None:
    deadlines = packaged.deadlines
    # A normal pothole: resolve in 3 working days of 9 hours.
    assert deadlines.policy("pothole", Priority.NORMAL)[Stage.RESOLVE] == timedelta(hours=27)
    start = datetime(2026, 9, 30, 1, tzinfo=UTC)  # Wednesday 09:00 in Chongqing
    due = deadlines.due(Stage.RESOLVE, "pothole", Priority.NORMAL, start)
    assert due == datetime(2026, 10, 9, 10, tzinfo=UTC)  # Friday 18:00 after National Day
    # Floods run round the clock: a day is 24 hours there.
    assert deadlines.policy("flood", Priority.URGENT)[Stage.ACCEPT] == timedelta(minutes=15)
    night = datetime(2026, 10, 3, 16, tzinfo=UTC)
    due = deadlines.due(Stage.ACCEPT, "flood", Priority.URGENT, night)
    assert due == night + timedelta(minutes=15)


# -- durations -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30m", timedelta(minutes=30)),
        ("2h", timedelta(hours=2)),
        ("1d12h", timedelta(days=1, hours=12)),
        ("1d 12h", timedelta(days=1, hours=12)),
        ("3d", timedelta(days=3)),
        ("1w", timedelta(weeks=1)),
        ("90s", timedelta(seconds=90)),
        ("2H", timedelta(hours=2)),
        ("PT2H", timedelta(hours=2)),
        ("pt30m", timedelta(minutes=30)),
        ("P1DT12H", timedelta(days=1, hours=12)),
        ("P3D", timedelta(days=3)),
        ("P1W", timedelta(weeks=1)),
        ("PT0.5S", timedelta(seconds=0.5)),
        ("0m", timedelta(0)),
    ],
)
def test_parse_duration(text: str, expected: timedelta) -> None:
    assert parse_duration(text) == expected


@pytest.mark.parametrize(
    "text", ["", " ", "2", "P", "PT", "P1M", "P1Y", "1y", "-1h", "2 hours", "h", "1h30", "1.5h", 5]
)
def test_parse_duration_refuses_what_is_no_duration(text: Any) -> None:
    with pytest.raises(ValueError, match="duration"):
        parse_duration(text)


def test_days_and_weeks_last_what_the_clock_says() -> None:
    office = WorkingCalendar("Asia/Shanghai", time(9), time(18), range(5))
    assert parse_duration("1d", office) == timedelta(hours=9)
    assert parse_duration("1w1d2h", office) == timedelta(hours=45 + 9 + 2)
    assert parse_duration("P2D", office) == timedelta(hours=18)
    assert parse_duration("1d", WallClock()) == timedelta(days=1)


@given(
    weeks=st.integers(0, 5),
    days=st.integers(0, 40),
    hours=st.integers(0, 100),
    minutes=st.integers(0, 1000),
)
def test_both_notations_agree(weeks: int, days: int, hours: int, minutes: int) -> None:
    expected = timedelta(weeks=weeks, days=days, hours=hours, minutes=minutes)
    short = f"{weeks}w{days}d{hours}h{minutes}m"
    iso = f"P{weeks}W{days}DT{hours}H{minutes}M"
    assert parse_duration(short) == parse_duration(iso) == expected


# -- every mistake ---------------------------------------------------------------------------

BASE: dict[str, Any] = {
    "city": "testville",
    "boundaries": "chongqing",
    "departments": [
        {"id": "roads", "name": "Roads"},
        {"id": "city", "name": "City Management", "name_zh": "城市管理"},
    ],
    "categories": [
        {
            "code": "pothole",
            "name": "Pothole",
            "attributes": [
                {
                    "code": "size",
                    "datatype": "singlevaluelist",
                    "description": "How big?",
                    "values": [{"key": "small", "name": "Small"}],
                }
            ],
        },
        {"code": "noise", "name": "Noise"},
    ],
    "routing": {
        "fallback": "city",
        "rules": [
            {"category": "pothole", "districts": ["Yuzhong"], "department": "roads"},
            {"category": ["pothole", "noise"], "department": "city"},
        ],
    },
    "deadlines": {
        "default": {"accept": "2h", "dispatch": "4h", "resolve": "5d"},
        "rules": [{"category": "pothole", "priority": "high", "resolve": "1d"}],
    },
}


def write(tmp_path: Path, document: Any, name: str = "governance.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(document, allow_unicode=True), encoding="utf-8")
    return path


def changed(change: Callable[[dict[str, Any]], object]) -> dict[str, Any]:
    document = copy.deepcopy(BASE)
    change(document)
    return document


def test_a_minimal_configuration_takes_the_defaults(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE))
    assert config.grid_resolution == 8
    assert isinstance(config.deadlines.calendar, WallClock)
    assert config.deadlines.policy("pothole", Priority.HIGH)[Stage.RESOLVE] == timedelta(days=1)
    assert config.duplicate_distance_m == 50.0
    assert config.duplicate_window == timedelta(days=7)
    assert config.reopen_window == timedelta(days=30)
    assert config.escalation_role == "supervisor"
    assert config.categories["pothole"].priority is Priority.NORMAL
    assert config.departments["city"].name_zh == "城市管理"
    routing = config.router.route("pothole", JIEFANGBEI)
    assert routing.reason == (
        "routed to Roads because category pothole in district Yuzhong matches routing rule 1"
    )


def test_boundaries_load_from_a_file_beside_the_configuration(tmp_path: Path) -> None:
    ring = [[0, 0], [1, 0], [1, 1], [0, 1], [0, 0]]
    boroughs = {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"gss": "E09000033", "label": "Westminster"},
                "geometry": {"type": "Polygon", "coordinates": [ring]},
            }
        ],
    }
    (tmp_path / "maps").mkdir()
    (tmp_path / "maps" / "london.geojson").write_text(json.dumps(boroughs), encoding="utf-8")

    def london(document: dict[str, Any]) -> None:
        document["boundaries"] = {"file": "maps/london.geojson", "code": "gss", "name": "label"}
        document["routing"]["rules"][0]["districts"] = ["E09000033"]

    config = load_config(write(tmp_path, changed(london)))
    assert config.districts.names() == ["Westminster"]
    routing = config.router.route("pothole", (0.5, 0.5))
    assert (routing.department, routing.district) == ("roads", "Westminster")


def test_a_full_calendar_loads(tmp_path: Path) -> None:
    def calendar(document: dict[str, Any]) -> None:
        document["calendar"] = {
            "timezone": "Europe/Warsaw",
            "hours": {"start": "08:00", "end": "16:00"},
            "days": ["mon", "Tuesday", "wed", "thu", "fri"],
            "holidays": [date(2026, 11, 11), "2026-12-24/2026-12-26"],
            "workdays": ["2026-11-14"],
        }

    config = load_config(write(tmp_path, changed(calendar)))
    clock = config.deadlines.calendar
    assert isinstance(clock, WorkingCalendar)
    assert clock.days == frozenset(range(5))
    assert clock.holidays == {date(2026, 11, 11), *(date(2026, 12, d) for d in (24, 25, 26))}
    assert clock.workdays == {date(2026, 11, 14)}
    # 5d under a calendar means five working days of eight hours.
    assert config.deadlines.policy("noise", Priority.NORMAL)[Stage.RESOLVE] == timedelta(hours=40)


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A change that sets the value at a dotted path ("routing.rules.0.department")."""

    def change(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = document
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        if isinstance(node, list):
            node[int(last)] = value
        else:
            node[last] = value

    return change


def _drop(path: str) -> Callable[[dict[str, Any]], None]:
    def change(document: dict[str, Any]) -> None:
        *parents, last = path.split(".")
        node: Any = document
        for key in parents:
            node = node[int(key)] if isinstance(node, list) else node[key]
        del node[last]

    return change


ATTRIBUTE = "categories.0.attributes.0"
AT = "categories[0].attributes[0]"

MISTAKES: list[tuple[Callable[[dict[str, Any]], object], str, str]] = [
    (_drop("city"), "city", "is missing"),
    (_set("deparments", []), "deparments", "is not a known key"),
    (_set("city", ""), "city", "non-empty text"),
    (_set("boundaries", "atlantis"), "boundaries", "neither a file nor one of: chongqing"),
    (_set("boundaries", {"name": "x"}), "boundaries.file", "is missing"),
    (_set("grid", {"resolution": 16}), "grid.resolution", "from 0 to 15"),
    (_set("grid", {"resolution": "8"}), "grid.resolution", "an integer"),
    (_set("grid", {"size": 8}), "grid.size", "is not a known key"),
    (_set("departments", {"roads": "Roads"}), "departments", "must be a list"),
    (_set("departments", []), "departments", "at least one department"),
    (_set("departments.1.id", "roads"), "departments[1].id", "defined twice"),
    (_set("departments.1.id", "City Hall"), "departments[1].id", "lower-case"),
    (_drop("departments.0.name"), "departments[0].name", "is missing"),
    (_set("departments.0", "roads"), "departments[0]", "must be a mapping"),
    (_set("categories", []), "categories", "at least one category"),
    (_set("categories.1.code", "pothole"), "categories[1].code", "defined twice"),
    (_set("categories.1.priority", "asap"), "categories[1].priority", "unknown priority 'asap'"),
    (_set("categories.1.keywords", [1]), "categories[1].keywords[0]", "non-empty text"),
    (_set(f"{ATTRIBUTE}.datatype", "colour"), f"{AT}.datatype", "unknown datatype"),
    (_drop(f"{ATTRIBUTE}.values"), f"{AT}.values", "must be a list"),
    (_set(f"{ATTRIBUTE}.values", []), f"{AT}.values", "at least one choice"),
    (_set(f"{ATTRIBUTE}.values", [{"key": "s"}]), f"{AT}.values[0].name", "is missing"),
    (_set(f"{ATTRIBUTE}.values", [{"key": True, "name": "Y"}]), f"{AT}.values[0].key", ""),
    (_set(f"{ATTRIBUTE}.datatype", "string"), f"{AT}.values", "takes no values"),
    (_set(f"{ATTRIBUTE}.order", "first"), f"{AT}.order", "whole number"),
    (_set(f"{ATTRIBUTE}.required", "yes"), f"{AT}.required", "true or false"),
    (_drop(f"{ATTRIBUTE}.description"), f"{AT}.description", "is missing"),
    (
        lambda d: d["categories"][0]["attributes"].append(d["categories"][0]["attributes"][0]),
        "categories[0].attributes[1].code",
        "asked twice",
    ),
    (_set("routing.fallback", "police"), "routing.fallback", "unknown department 'police'"),
    (
        _set("routing.rules.1.department", "parks"),
        "routing.rules[1].department",
        "unknown department",
    ),
    (_set("routing.rules.0.category", "graffiti"), "routing.rules[0].category", "unknown category"),
    (_set("routing.rules.1.category", ["noise", "x"]), "routing.rules[1].category[1]", "unknown"),
    (_set("routing.rules.1.category", []), "routing.rules[1].category", "must not be empty"),
    (
        _set("routing.rules.0.districts", ["Gotham"]),
        "routing.rules[0].districts[0]",
        "unknown district",
    ),
    (_set("routing.rules.0.cells", ["zz"]), "routing.rules[0].cells[0]", "not an H3 cell"),
    (
        _set("routing.rules.0.cells", ["8940197180fffff"]),
        "routing.rules[0].cells[0]",
        "finer than the grid's 8",
    ),
    (_set("routing.rules.0", {"department": "roads"}), "routing.rules[0]", "needs a category"),
    (_set("routing.rules.0.priority", "high"), "routing.rules[0].priority", "not a known key"),
    (_drop("deadlines.default.resolve"), "deadlines.default.resolve", "is missing"),
    (_set("deadlines.default.accept", "soon"), "deadlines.default.accept", "is not a duration"),
    (_set("deadlines.default.accept", 2), "deadlines.default.accept", "a duration is text"),
    (_set("deadlines.default.accept", "0h"), "deadlines.default.accept", "longer than zero"),
    (_set("deadlines.rules.0", {"category": "noise"}), "deadlines.rules[0]", "at least one of"),
    (_set("deadlines.rules.0.priority", "asap"), "deadlines.rules[0].priority", "unknown priority"),
    (_set("deadlines.rules.0.category", "x"), "deadlines.rules[0].category", "unknown category"),
    (_set("deadlines.rules.0.working_hours", "no"), "deadlines.rules[0].working_hours", "true"),
    (_set("calendar", {"timezone": "Asia/Shanghai"}), "calendar.hours", "is missing"),
    (_set("duplicates", {"distance": -5}), "duplicates.distance", "metres above zero"),
    (_set("duplicates", {"window": "a week"}), "duplicates.window", "is not a duration"),
    (_set("reopen_window", "forever"), "reopen_window", "is not a duration"),
    (_set("escalation_role", 7), "escalation_role", "non-empty text"),
]

CALENDAR = {
    "timezone": "Asia/Shanghai",
    "hours": {"start": "09:00", "end": "18:00"},
    "days": ["mon"],
}

CALENDAR_MISTAKES: list[tuple[str, Any, str, str]] = [
    ("timezone", "Mars/Olympus", "calendar.timezone", "unknown time zone"),
    ("hours", {"start": 540, "end": "18:00"}, "calendar.hours.start", "in quotes"),
    ("hours", {"start": "9 am", "end": "18:00"}, "calendar.hours.start", "not a time"),
    ("hours", {"start": "18:00", "end": "09:00"}, "calendar.hours", "end after they start"),
    ("days", ["funday"], "calendar.days[0]", "not a day"),
    ("days", ["m"], "calendar.days[0]", "not a day"),
    ("days", [], "calendar.days", "at least one working day"),
    ("holidays", ["2026-13-01"], "calendar.holidays[0]", "not a date"),
    ("holidays", ["2026-10-07/2026-10-01"], "calendar.holidays[0]", "ends before it starts"),
    ("workdays", "2026-10-10", "calendar.workdays", "must be a list"),
]


@pytest.mark.parametrize(
    ("change", "path", "problem"), MISTAKES, ids=[f"{i}-{m[1]}" for i, m in enumerate(MISTAKES)]
)
def test_each_mistake_is_named_with_its_place(
    tmp_path: Path, change: Callable[[dict[str, Any]], object], path: str, problem: str
) -> None:
    file = write(tmp_path, changed(change))
    with pytest.raises(ConfigError) as caught:
        load_config(file)
    assert caught.value.path == path
    assert problem in caught.value.problem
    assert str(caught.value).startswith(f"{file}: {path}: ")


@pytest.mark.parametrize(("key", "value", "path", "problem"), CALENDAR_MISTAKES)
def test_each_calendar_mistake_is_named_with_its_place(
    tmp_path: Path, key: str, value: Any, path: str, problem: str
) -> None:
    document = changed(_set("calendar", {**CALENDAR, key: value}))
    with pytest.raises(ConfigError) as caught:
        load_config(write(tmp_path, document))
    assert (caught.value.path, problem in caught.value.problem) == (path, True)


def test_an_unquoted_time_in_yaml_is_caught(tmp_path: Path) -> None:
    document = changed(_set("calendar", CALENDAR))
    text = yaml.safe_dump(document).replace("start: 09:00", "start: 9:00")
    assert "start: 9:00" in text
    file = tmp_path / "governance.yaml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=r"calendar\.hours\.start: write the time in quotes"):
        load_config(file)


def test_bad_boundaries_files_are_reported(tmp_path: Path) -> None:
    (tmp_path / "empty.geojson").write_text('{"type": "FeatureCollection", "features": []}')
    with pytest.raises(ConfigError, match=r"boundaries: cannot load 'empty\.geojson'"):
        load_config(write(tmp_path, changed(_set("boundaries", "empty.geojson"))))


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("city: [unclosed", "is not valid YAML"),
        ("- a\n- b\n", "(top level): must be a mapping"),
        ("", "(top level): must be a mapping"),
    ],
)
def test_files_that_are_no_configuration(tmp_path: Path, text: str, problem: str) -> None:
    file = tmp_path / "broken.yaml"
    file.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError, match=re.escape(problem)) as caught:
        load_config(file)
    assert str(file) in str(caught.value)


def test_a_missing_file_is_reported(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="cannot be read"):
        load_config(tmp_path / "nowhere.yaml")


def test_config_errors_are_value_errors() -> None:
    assert issubclass(ConfigError, ValueError)


# -- Open311 attributes ----------------------------------------------------------------------


def attribute(datatype: str, required: bool = False, **more: Any) -> ServiceAttribute:
    return ServiceAttribute("q", datatype, required, "How big is it?", 1, **more)


CHOICES = [("small", "Small"), ("large", "Large")]


@pytest.mark.parametrize(
    ("question", "answer", "checked"),
    [
        (attribute("string"), "  deep  ", "deep"),
        (attribute("text"), 42, "42"),
        (attribute("number"), 3, 3),
        (attribute("number"), "2.5", 2.5),
        (attribute("number"), "7", 7),
        (
            attribute("datetime"),
            "2026-05-04T14:30:00+08:00",
            datetime.fromisoformat("2026-05-04T14:30:00+08:00"),
        ),
        (attribute("datetime"), "2026-05-04T06:30:00Z", datetime(2026, 5, 4, 6, 30, tzinfo=UTC)),
        (attribute("singlevaluelist", values=CHOICES), "small", "small"),
        (attribute("singlevaluelist", values=CHOICES), ["large"], "large"),
        (
            attribute("multivaluelist", values=CHOICES),
            ["large", "small", "large"],
            ["large", "small"],
        ),
        (attribute("multivaluelist", values=CHOICES), "small", ["small"]),
        (attribute("string"), None, None),
        (attribute("string"), "", None),
        (attribute("string", variable=False), "anything", None),
    ],
)
def test_answers_are_checked_and_normalised(
    question: ServiceAttribute, answer: Any, checked: Any
) -> None:
    assert question.check(answer) == checked


@pytest.mark.parametrize(
    ("question", "answer", "problem"),
    [
        (attribute("string", required=True), None, "Please answer: How big is it?"),
        (attribute("multivaluelist", True, values=CHOICES), [], "Please answer"),
        (attribute("string"), {"a": 1}, "must be text"),
        (attribute("number"), "lots", "must be a number"),
        (attribute("number"), True, "must be a number"),
        (attribute("number"), "nan", "must be a number"),
        (attribute("datetime"), "yesterday", "must be a date and time"),
        (attribute("datetime"), "2026-05-04T14:30", "needs a time zone"),
        (attribute("singlevaluelist", values=CHOICES), "huge", "must be one of: small, large"),
        (attribute("singlevaluelist", values=CHOICES), ["small", "large"], "one choice"),
        (attribute("multivaluelist", values=CHOICES), ["small", "huge"], "not 'huge'"),
    ],
)
def test_wrong_answers_are_explained(question: ServiceAttribute, answer: Any, problem: str) -> None:
    with pytest.raises(ValueError, match=problem):
        question.check(answer)


def test_a_category_checks_all_its_answers() -> None:
    category = Category(
        "pothole",
        "Pothole",
        None,
        None,
        None,
        [],
        Priority.NORMAL,
        [
            attribute("singlevaluelist", values=CHOICES),
            ServiceAttribute("n", "number", False, "How many?", 2),
        ],
    )
    assert category.check({"q": "small"}) == {"q": "small"}
    assert category.check({"q": "small", "n": "3"}) == {"q": "small", "n": 3}
    with pytest.raises(ValueError, match="Pothole does not ask about 'colour'"):
        category.check({"colour": "red"})


def test_packaged_attributes_follow_open311(packaged: Any) -> None:
    size = packaged.categories["pothole"].attributes[0]
    assert (size.code, size.datatype, size.required, size.order) == (
        "size",
        "singlevaluelist",
        False,
        1,
    )
    assert size.values[0] == ("small", "Smaller than a plate")
    depth = packaged.categories["waterlogging"].attributes[0]
    with pytest.raises(ValueError, match="Please answer"):
        depth.check(None)
