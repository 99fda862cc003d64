"""The governance configuration: departments, categories, routing, deadlines, calendar.

A city describes how it governs in one YAML file, which city staff edit rather than
programmers; so every mistake is reported with the file, the place in it
(`routing.rules[3].department`, indices from 0) and what is wrong, before anything runs.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any, TypeVar
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import yaml

from cityos.governance.deadlines import (
    Clock,
    DeadlineRule,
    Deadlines,
    WallClock,
    WorkingCalendar,
)
from cityos.governance.districts import DATA, Districts
from cityos.governance.grid import cell_resolution, check_resolution, is_cell
from cityos.governance.model import Priority, Stage
from cityos.governance.routing import Router, RoutingRule

DEFAULT_CONFIG = DATA / "chongqing.yaml"

DATATYPES = ("string", "number", "datetime", "text", "singlevaluelist", "multivaluelist")
"""Open311 GeoReport v2 attribute datatypes."""
LANGUAGES = ("en", "zh", "pl")
"""The languages citizens are answered in."""

_ID = re.compile(r"^[a-z0-9][a-z0-9_-]*$")
"""Department ids and category codes: they end up in URLs, roles and statistics."""

_SHORT = re.compile(
    r"^(?:(?P<w>\d+)w)?(?:(?P<d>\d+)d)?(?:(?P<h>\d+)h)?(?:(?P<m>\d+)m)?(?:(?P<s>\d+)s)?$"
)
_ISO = re.compile(
    r"^P(?:(?P<w>\d+)W)?(?:(?P<d>\d+)D)?"
    r"(?:T(?=\d)(?:(?P<h>\d+)H)?(?:(?P<m>\d+)M)?(?:(?P<s>\d+(?:\.\d+)?)S)?)?$"
)
_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
"""Written in full or shortened to at least three letters."""
_T = TypeVar("_T")


def parse_duration(text: str, clock: Clock | None = None) -> timedelta:
    """A duration written `30m`, `2h`, `1d12h`, `1w`, `90s` (spaces allowed between parts)
    or in ISO 8601 (`PT2H`, `P1DT12H`). Months and years are refused: their length varies.

    Days and weeks last what `clock` says (a working day of a `WorkingCalendar` is its
    opening hours); without a clock they are 24 hours and 7 days."""
    if not isinstance(text, str):
        raise ValueError(f"a duration is text like 2h or PT2H, not {text!r}")
    compact = "".join(text.split())
    match = _SHORT.match(compact.lower()) or _ISO.match(compact.upper())
    if not compact or compact.upper() == "P" or match is None:
        raise ValueError(f"{text!r} is not a duration (write 30m, 2h, 1d12h, 3d or PT2H)")
    parts = {unit: float(value) for unit, value in match.groupdict().items() if value}
    clock = clock or WallClock()
    return (
        parts.get("w", 0) * clock.week
        + parts.get("d", 0) * clock.day
        + timedelta(hours=parts.get("h", 0), minutes=parts.get("m", 0), seconds=parts.get("s", 0))
    )


class ConfigError(ValueError):
    """A mistake in a governance configuration file."""

    def __init__(self, source: str, path: str, problem: str) -> None:
        self.source, self.path, self.problem = source, path, problem
        super().__init__(f"{source}: {path}: {problem}" if path else f"{source}: {problem}")


@dataclass(frozen=True, slots=True)
class Department:
    id: str
    name: str
    name_zh: str | None = None


@dataclass(frozen=True, slots=True)
class ServiceAttribute:
    """A question a category asks the reporter (Open311 service-definition attribute)."""

    code: str
    datatype: str
    required: bool
    description: str
    """The question, as shown to the citizen."""
    order: int
    datatype_description: str | None = None
    values: list[tuple[str, str]] = field(default_factory=list)
    """(key, name) of each choice, for the list datatypes; empty for the others."""
    variable: bool = True
    """False for an attribute that only informs and takes no answer."""

    def check(self, value: Any) -> Any:
        """The answer `value`, checked and normalised (numbers as int or float, dates as
        aware datetimes, list choices as keys); ValueError says what is wrong in words a
        citizen understands."""
        if not self.variable:
            return None
        if value is None or value == "" or value == []:
            if self.required:
                raise ValueError(f"Please answer: {self.description}")
            return None
        question = f"The answer to “{self.description}”"
        if self.datatype in ("string", "text"):
            if not isinstance(value, str | int | float) or isinstance(value, bool):
                raise ValueError(f"{question} must be text.")
            return str(value).strip()
        if self.datatype == "number":
            return _number(value, question)
        if self.datatype == "datetime":
            return _moment(value, question)
        keys = [key for key, _ in self.values]
        choices = ", ".join(keys)
        answers = value if isinstance(value, list | tuple) else [value]
        if self.datatype == "singlevaluelist" and len(answers) > 1:
            raise ValueError(f"{question} must be one choice of: {choices}.")
        checked = []
        for answer in answers:
            if str(answer) not in keys:
                raise ValueError(f"{question} must be one of: {choices} (not {answer!r}).")
            checked.append(str(answer))
        if self.datatype == "singlevaluelist":
            return checked[0]
        return list(dict.fromkeys(checked))


def _number(value: Any, question: str) -> int | float:
    if isinstance(value, bool):
        raise ValueError(f"{question} must be a number.")
    if isinstance(value, int):
        return value
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{question} must be a number.") from None
    if not math.isfinite(number):
        raise ValueError(f"{question} must be a number.")
    return int(number) if isinstance(value, str) and number.is_integer() else number


def _moment(value: Any, question: str) -> datetime:
    try:
        moment = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    except ValueError:
        raise ValueError(f"{question} must be a date and time, like 2026-05-04T14:30.") from None
    if moment.tzinfo is None:
        raise ValueError(f"{question} needs a time zone, like 2026-05-04T14:30+08:00.")
    return moment


@dataclass(frozen=True, slots=True)
class Category:
    """A kind of case; also an Open311 service."""

    code: str
    name: str
    name_zh: str | None
    group: str | None
    description: str | None
    keywords: list[str]
    priority: Priority
    """The priority new cases of this category get unless the report says otherwise."""
    attributes: list[ServiceAttribute]
    citizen: bool = False
    """Offered to citizens on the public reporting page (`/citizen/v1`); a category a
    citizen cannot judge (a machine fault, a freight delay) stays for staff and rules."""
    name_pl: str | None = None

    def named(self, language: str) -> str:
        """The category's name in `language` (en, zh, pl), English where none is given."""
        return {"zh": self.name_zh, "pl": self.name_pl}.get(language) or self.name

    def check(self, answers: Mapping[str, Any]) -> dict[str, Any]:
        """All answers to this category's questions, checked; unknown questions are refused
        so that a typo in a client does not silently drop an answer."""
        known = {a.code: a for a in self.attributes}
        for code in answers:
            if code not in known:
                raise ValueError(f"{self.name} does not ask about {code!r}.")
        checked = {a.code: a.check(answers.get(a.code)) for a in self.attributes}
        return {code: value for code, value in checked.items() if value is not None}


@dataclass(frozen=True, slots=True)
class GovernanceConfig:
    city: str
    districts: Districts
    grid_resolution: int
    departments: dict[str, Department]
    categories: dict[str, Category]
    """In file order, the order of the Open311 service list."""
    router: Router
    deadlines: Deadlines
    duplicate_distance_m: float
    duplicate_window: timedelta
    reopen_window: timedelta
    escalation_role: str
    citizens: CitizenSettings = field(default_factory=lambda: CitizenSettings())
    """The citizens' front door: reference prefix, time zone of promises, rude words."""


@dataclass(frozen=True, slots=True)
class CitizenSettings:
    """How the city's front door speaks: the prefix of short references (`CQ-2026-000123`),
    the time zone its promises are written in, and, per language, the words that flag a
    report for review by an operator."""

    reference_prefix: str = "CASE"
    timezone: str = "UTC"
    rude_words: dict[str, tuple[str, ...]] = field(default_factory=dict)


def load_config(path: Path | None = None) -> GovernanceConfig:
    """Read and check a configuration file; None reads the packaged Chongqing one."""
    path = DEFAULT_CONFIG if path is None else Path(path)
    try:
        document = yaml.safe_load(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot be read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise ConfigError(str(path), "", f"is not valid YAML ({exc})") from exc
    return _Reader(path).config(document)


class _Reader:
    """Turns the YAML document into a configuration, raising ConfigError at the first
    mistake with the path that leads to it."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def fail(self, where: str, problem: str) -> ConfigError:
        return ConfigError(str(self.path), where, problem)

    # -- shapes -----------------------------------------------------------------------------

    def mapping(
        self, value: Any, where: str, required: tuple[str, ...], optional: tuple[str, ...] = ()
    ) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise self.fail(where or "(top level)", "must be a mapping of keys to values")
        for key in required:
            if value.get(key) is None:
                raise self.fail(_join(where, key), "is missing")
        for key in value:
            if key not in required and key not in optional:
                allowed = ", ".join(required + optional)
                raise self.fail(_join(where, str(key)), f"is not a known key (known: {allowed})")
        return value

    def items(self, value: Any, where: str) -> list[Any]:
        if not isinstance(value, list):
            raise self.fail(where, "must be a list")
        return value

    def text(self, value: Any, where: str) -> str:
        if not isinstance(value, str) or not value.strip():
            raise self.fail(where, f"must be non-empty text, not {value!r}")
        return value.strip()

    def optional_text(self, value: Any, where: str) -> str | None:
        return None if value is None else self.text(value, where)

    def texts(self, value: Any, where: str) -> list[str]:
        """One text or a list of them."""
        if isinstance(value, str):
            return [self.text(value, where)]
        return [self.text(v, f"{where}[{i}]") for i, v in enumerate(self.items(value, where))]

    def identifier(self, value: Any, where: str) -> str:
        text = self.text(value, where)
        if not _ID.match(text):
            raise self.fail(where, f"{text!r} must be lower-case letters, digits, - and _")
        return text

    def flag(self, value: Any, where: str, default: bool) -> bool:
        if value is None:
            return default
        if not isinstance(value, bool):
            raise self.fail(where, f"must be true or false, not {value!r}")
        return value

    def duration(self, value: Any, where: str, clock: Clock | None = None) -> timedelta:
        try:
            duration = parse_duration(value, clock)
        except ValueError as exc:
            raise self.fail(where, str(exc)) from None
        if duration <= timedelta(0):
            raise self.fail(where, "must be longer than zero")
        return duration

    def choice(self, value: Any, where: str, known: Mapping[str, _T], what: str) -> _T:
        key = self.text(value, where)
        if key not in known:
            raise self.fail(where, f"unknown {what} {key!r} (known: {', '.join(known)})")
        return known[key]

    def day(self, value: Any, where: str) -> date:
        if isinstance(value, date) and not isinstance(value, datetime):
            return value
        try:
            return date.fromisoformat(str(value))
        except ValueError:
            raise self.fail(where, f"{value!r} is not a date like 2026-10-01") from None

    def dates(self, value: Any, where: str) -> set[date]:
        """Dates, and ranges written `2026-10-01/2026-10-07` (ISO 8601 intervals)."""
        days: set[date] = set()
        for i, item in enumerate(self.items(value, where)):
            here = f"{where}[{i}]"
            if isinstance(item, str) and "/" in item:
                first, last = (self.day(part.strip(), here) for part in item.split("/", 1))
                if last < first:
                    raise self.fail(here, "the range ends before it starts")
                days.update(first + timedelta(n) for n in range((last - first).days + 1))
            else:
                days.add(self.day(item, here))
        return days

    def clock_time(self, value: Any, where: str) -> time:
        if isinstance(value, int):
            # YAML 1.1 reads an unquoted 9:00 as the sexagesimal number 540.
            raise self.fail(where, 'write the time in quotes, like "09:00"')
        try:
            return time.fromisoformat(self.text(value, where))
        except ValueError:
            raise self.fail(where, f"{value!r} is not a time like 09:00") from None

    # -- sections ---------------------------------------------------------------------------

    def config(self, document: Any) -> GovernanceConfig:
        top = self.mapping(
            document,
            "",
            ("city", "boundaries", "departments", "categories", "routing", "deadlines"),
            ("grid", "calendar", "duplicates", "reopen_window", "escalation_role", "citizens"),
        )
        districts = self.boundaries(top["boundaries"])
        grid = self.mapping(top.get("grid") or {}, "grid", (), ("resolution",))
        resolution = grid.get("resolution", 8)
        try:
            check_resolution(resolution)
        except ValueError as exc:
            raise self.fail("grid.resolution", str(exc)) from None
        departments = self.departments(top["departments"])
        categories = self.categories(top["categories"])
        router = self.routing(top["routing"], departments, categories, districts, resolution)
        calendar = self.calendar(top["calendar"]) if "calendar" in top else WallClock()
        duplicates = self.mapping(
            top.get("duplicates") or {}, "duplicates", (), ("distance", "window")
        )
        distance = duplicates.get("distance", 50)
        if isinstance(distance, bool) or not isinstance(distance, int | float) or distance <= 0:
            raise self.fail("duplicates.distance", f"must be metres above zero, not {distance!r}")
        return GovernanceConfig(
            city=self.text(top["city"], "city"),
            districts=districts,
            grid_resolution=resolution,
            departments=departments,
            categories=categories,
            router=router,
            deadlines=self.deadlines(top["deadlines"], categories, calendar),
            duplicate_distance_m=float(distance),
            duplicate_window=self.duration(duplicates.get("window", "7d"), "duplicates.window"),
            reopen_window=self.duration(top.get("reopen_window", "30d"), "reopen_window"),
            escalation_role=self.text(top.get("escalation_role", "supervisor"), "escalation_role"),
            citizens=self.citizens(top.get("citizens") or {}),
        )

    def citizens(self, value: Any) -> CitizenSettings:
        spec = self.mapping(value, "citizens", (), ("reference_prefix", "timezone", "rude_words"))
        prefix = self.text(spec.get("reference_prefix", "CASE"), "citizens.reference_prefix")
        if not re.fullmatch(r"[A-Z]{1,8}", prefix):
            raise self.fail("citizens.reference_prefix", "must be 1 to 8 capital letters")
        zone = self.text(spec.get("timezone", "UTC"), "citizens.timezone")
        try:
            ZoneInfo(zone)
        except (ValueError, ZoneInfoNotFoundError):
            raise self.fail("citizens.timezone", f"unknown time zone {zone!r}") from None
        words = self.mapping(spec.get("rude_words") or {}, "citizens.rude_words", (), LANGUAGES)
        return CitizenSettings(
            reference_prefix=prefix,
            timezone=zone,
            rude_words={
                lang: tuple(w.casefold() for w in self.texts(found, f"citizens.rude_words.{lang}"))
                for lang, found in words.items()
            },
        )

    def boundaries(self, value: Any) -> Districts:
        """A packaged city name, a GeoJSON path (relative to this file), or a mapping with
        `file` and the feature property names."""
        where = "boundaries"
        properties: dict[str, str] = {}
        if isinstance(value, dict):
            spec = self.mapping(value, where, ("file",), ("code", "name", "name_zh", "kind"))
            source = self.text(spec["file"], f"{where}.file")
            for key in ("code", "name", "name_zh", "kind"):
                if key in spec:
                    properties[key] = self.text(spec[key], f"{where}.{key}")
        else:
            source = self.text(value, where)
        try:
            if not properties and source in Districts.packaged_names():
                return Districts.packaged(source)
            file = self.path.parent / source
            if not file.is_file():
                packaged = ", ".join(Districts.packaged_names())
                raise self.fail(where, f"{source!r} is neither a file nor one of: {packaged}")
            return Districts.load(file, **properties)
        except (ValueError, OSError) as exc:
            if isinstance(exc, ConfigError):
                raise
            raise self.fail(where, f"cannot load {source!r}: {exc}") from exc

    def departments(self, value: Any) -> dict[str, Department]:
        departments: dict[str, Department] = {}
        for i, item in enumerate(self.items(value, "departments")):
            where = f"departments[{i}]"
            spec = self.mapping(item, where, ("id", "name"), ("name_zh",))
            ident = self.identifier(spec["id"], f"{where}.id")
            if ident in departments:
                raise self.fail(f"{where}.id", f"department {ident!r} is defined twice")
            departments[ident] = Department(
                ident,
                self.text(spec["name"], f"{where}.name"),
                self.optional_text(spec.get("name_zh"), f"{where}.name_zh"),
            )
        if not departments:
            raise self.fail("departments", "must name at least one department")
        return departments

    def categories(self, value: Any) -> dict[str, Category]:
        priorities = {p.value: p for p in Priority}
        categories: dict[str, Category] = {}
        optional = (
            "name_zh",
            "name_pl",
            "group",
            "description",
            "keywords",
            "priority",
            "attributes",
            "citizen",
        )
        for i, item in enumerate(self.items(value, "categories")):
            where = f"categories[{i}]"
            spec = self.mapping(item, where, ("code", "name"), optional)
            code = self.identifier(spec["code"], f"{where}.code")
            if code in categories:
                raise self.fail(f"{where}.code", f"category {code!r} is defined twice")
            attributes = [
                self.attribute(a, f"{where}.attributes[{j}]", j)
                for j, a in enumerate(self.items(spec.get("attributes") or [], where))
            ]
            codes = [a.code for a in attributes]
            for j, attribute_code in enumerate(codes):
                if attribute_code in codes[:j]:
                    raise self.fail(
                        f"{where}.attributes[{j}].code", f"{attribute_code!r} is asked twice"
                    )
            categories[code] = Category(
                code=code,
                name=self.text(spec["name"], f"{where}.name"),
                name_zh=self.optional_text(spec.get("name_zh"), f"{where}.name_zh"),
                group=self.optional_text(spec.get("group"), f"{where}.group"),
                description=self.optional_text(spec.get("description"), f"{where}.description"),
                keywords=self.texts(spec.get("keywords") or [], f"{where}.keywords"),
                priority=self.choice(
                    spec.get("priority", "normal"), f"{where}.priority", priorities, "priority"
                ),
                attributes=attributes,
                citizen=self.flag(spec.get("citizen"), f"{where}.citizen", False),
                name_pl=self.optional_text(spec.get("name_pl"), f"{where}.name_pl"),
            )
        if not categories:
            raise self.fail("categories", "must name at least one category")
        return categories

    def attribute(self, value: Any, where: str, index: int) -> ServiceAttribute:
        spec = self.mapping(
            value,
            where,
            ("code", "datatype", "description"),
            ("required", "order", "datatype_description", "values", "variable"),
        )
        datatype = self.text(spec["datatype"], f"{where}.datatype")
        if datatype not in DATATYPES:
            raise self.fail(
                f"{where}.datatype",
                f"unknown datatype {datatype!r} (known: {', '.join(DATATYPES)})",
            )
        values: list[tuple[str, str]] = []
        if datatype.endswith("valuelist"):
            for j, choice in enumerate(self.items(spec.get("values"), f"{where}.values")):
                pair = self.mapping(choice, f"{where}.values[{j}]", ("key", "name"))
                key = pair["key"]
                if isinstance(key, bool) or not isinstance(key, str | int):
                    raise self.fail(f"{where}.values[{j}].key", "must be text or a number")
                values.append((str(key), self.text(pair["name"], f"{where}.values[{j}].name")))
            if not values:
                raise self.fail(f"{where}.values", "a list question needs at least one choice")
        elif "values" in spec:
            raise self.fail(f"{where}.values", f"a {datatype} question takes no values")
        order = spec.get("order", index + 1)
        if isinstance(order, bool) or not isinstance(order, int):
            raise self.fail(f"{where}.order", f"must be a whole number, not {order!r}")
        return ServiceAttribute(
            code=self.text(spec["code"], f"{where}.code"),
            datatype=datatype,
            required=self.flag(spec.get("required"), f"{where}.required", False),
            description=self.text(spec["description"], f"{where}.description"),
            order=order,
            datatype_description=self.optional_text(
                spec.get("datatype_description"), f"{where}.datatype_description"
            ),
            values=values,
            variable=self.flag(spec.get("variable"), f"{where}.variable", True),
        )

    def routing(
        self,
        value: Any,
        departments: Mapping[str, Department],
        categories: Mapping[str, Category],
        districts: Districts,
        resolution: int,
    ) -> Router:
        spec = self.mapping(value, "routing", ("fallback",), ("rules",))
        fallback = self.choice(spec["fallback"], "routing.fallback", departments, "department")
        rules = []
        for i, item in enumerate(self.items(spec.get("rules") or [], "routing.rules")):
            where = f"routing.rules[{i}]"
            rule = self.mapping(item, where, ("department",), ("category", "districts", "cells"))
            if not {"category", "districts", "cells"} & rule.keys():
                raise self.fail(where, "a rule needs a category, districts or cells to match")
            department = self.choice(
                rule["department"], f"{where}.department", departments, "department"
            )
            names = self.optional_list(rule, "districts", where)
            for j, name in enumerate(names or []):
                if districts.find(name) is None:
                    raise self.fail(f"{where}.districts[{j}]", f"unknown district {name!r}")
            cells = self.optional_list(rule, "cells", where)
            for j, cell in enumerate(cells or []):
                self.cell(cell, f"{where}.cells[{j}]", resolution)
            rules.append(
                RoutingRule(
                    department=department.id,
                    categories=self.category_set(rule, where, categories),
                    districts=tuple(names) if names is not None else None,
                    cells=tuple(cells) if cells is not None else None,
                )
            )
        return Router(
            rules,
            fallback.id,
            districts,
            resolution,
            {d.id: d.name for d in departments.values()},
        )

    def cell(self, value: str, where: str, resolution: int) -> None:
        if not is_cell(value):
            raise self.fail(where, f"{value!r} is not an H3 cell")
        if cell_resolution(value) > resolution:
            raise self.fail(
                where,
                f"{value!r} has resolution {cell_resolution(value)}, finer than the grid's "
                f"{resolution}: no case can lie inside it",
            )

    def optional_list(self, spec: Mapping[str, Any], key: str, where: str) -> list[str] | None:
        if key not in spec:
            return None
        values = self.texts(spec[key], f"{where}.{key}")
        if not values:
            raise self.fail(f"{where}.{key}", "must not be empty")
        return values

    def category_set(
        self, spec: Mapping[str, Any], where: str, categories: Mapping[str, Category]
    ) -> frozenset[str] | None:
        codes = self.optional_list(spec, "category", where)
        if codes is None:
            return None
        for j, code in enumerate(codes):
            here = f"{where}.category" + (f"[{j}]" if isinstance(spec["category"], list) else "")
            self.choice(code, here, categories, "category")
        return frozenset(codes)

    def deadlines(
        self, value: Any, categories: Mapping[str, Category], calendar: Clock
    ) -> Deadlines:
        stages = tuple(stage.value for stage in Stage)
        spec = self.mapping(value, "deadlines", ("default",), ("rules",))
        default_spec = self.mapping(spec["default"], "deadlines.default", stages)
        default = {
            Stage(s): self.duration(default_spec[s], f"deadlines.default.{s}", calendar)
            for s in stages
        }
        priorities = {p.value: p for p in Priority}
        rules = []
        for i, item in enumerate(self.items(spec.get("rules") or [], "deadlines.rules")):
            where = f"deadlines.rules[{i}]"
            rule = self.mapping(item, where, (), ("category", "priority", "working_hours", *stages))
            round_the_clock = not self.flag(
                rule.get("working_hours"), f"{where}.working_hours", True
            )
            clock = WallClock() if round_the_clock else calendar
            durations = {
                Stage(s): self.duration(rule[s], f"{where}.{s}", clock) for s in stages if s in rule
            }
            if not durations:
                raise self.fail(where, f"a rule must set at least one of {', '.join(stages)}")
            wanted = self.optional_list(rule, "priority", where)
            rules.append(
                DeadlineRule(
                    stages=durations,
                    categories=self.category_set(rule, where, categories),
                    priorities=None
                    if wanted is None
                    else frozenset(
                        self.choice(p, f"{where}.priority", priorities, "priority") for p in wanted
                    ),
                    round_the_clock=round_the_clock,
                )
            )
        return Deadlines(default, rules, calendar)

    def calendar(self, value: Any) -> WorkingCalendar:
        spec = self.mapping(
            value, "calendar", ("timezone", "hours", "days"), ("holidays", "workdays")
        )
        zone = self.text(spec["timezone"], "calendar.timezone")
        try:
            timezone = ZoneInfo(zone)
        except (ZoneInfoNotFoundError, ValueError):
            raise self.fail("calendar.timezone", f"unknown time zone {zone!r}") from None
        hours = self.mapping(spec["hours"], "calendar.hours", ("start", "end"))
        start = self.clock_time(hours["start"], "calendar.hours.start")
        end = self.clock_time(hours["end"], "calendar.hours.end")
        if not start < end:
            raise self.fail("calendar.hours", "working hours must end after they start")
        days = []
        for i, name in enumerate(self.texts(spec["days"], "calendar.days")):
            matching = [n for n, day in enumerate(_DAYS) if day.startswith(name.lower())]
            if len(name) < 3 or not matching:
                raise self.fail(f"calendar.days[{i}]", f"{name!r} is not a day (mon … sun)")
            days.append(matching[0])
        if not days:
            raise self.fail("calendar.days", "must name at least one working day")
        return WorkingCalendar(
            timezone,
            start,
            end,
            days,
            self.dates(spec.get("holidays") or [], "calendar.holidays"),
            self.dates(spec.get("workdays") or [], "calendar.workdays"),
        )


def _join(where: str, key: str) -> str:
    return f"{where}.{key}" if where else key
