"""The temporal side of NGSI-LD (ETSI GS CIM 009, 4.5.7-4.5.19, 4.11, 5.7.3-5.7.4).

Parsing of the temporal query (timerel, timeAt, endTimeAt, timeproperty, lastN) and of
aggregation (aggrMethods, aggrPeriodDuration), and rendering of a temporal entity in its
three representations: normalized (every attribute an array of instances, each with its
instanceId), temporalValues (`values`, `objects`, `languageMaps`, ... as [value, time]
pairs) and aggregatedValues (per method, [value, periodStart, periodEnd] triples).

Time intervals are half-open: `before` is t < timeAt, `after` is t >= timeAt and `between`
is timeAt <= t < endTimeAt, so that consecutive windows never count an instance twice.
Aggregation periods are fixed lengths of weeks, days, hours, minutes and seconds; months and
years (`P1M`, `P1Y`) are refused, since a period of varying length cannot be one SQL bucket
and a 30-day "month" would silently mislabel every period after February.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any

from cityos.context.entity import (
    ENTITY_KEYS,
    JSON_PROPERTY,
    LANGUAGE_PROPERTY,
    LIST_PROPERTY,
    LIST_RELATIONSHIP,
    NGSI_LD_NULL,
    RELATIONSHIP,
    VALUE_KEY_BY_TYPE,
    VOCAB_PROPERTY,
    Entity,
    Instance,
)
from cityos.context.errors import BadRequestData
from cityos.context.jsonld import Terms
from cityos.context.normalize import parse_attributes, parse_entity
from cityos.context.render import View, render_instance, render_members, shows

TIMERELS = ("before", "after", "between")
TIME_PROPERTIES = ("observedAt", "createdAt", "modifiedAt")
"""deletedAt (1.8) is not offered: cityos keeps no deletion instances in the history."""
AGGREGATION_METHODS = (
    "totalCount",
    "distinctCount",
    "sum",
    "avg",
    "min",
    "max",
    "stddev",
    "sumsq",
)
NORMALIZED, TEMPORAL_VALUES, AGGREGATED_VALUES = "normalized", "temporalValues", "aggregatedValues"

_DATETIME = re.compile(
    r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?P<fraction>\.\d{1,9})?)?(?:Z|[+-]\d{2}:\d{2})$"
)
_DURATION = re.compile(
    r"^P(?:(?P<weeks>\d+)W)?(?:(?P<days>\d+)D)?"
    r"(?:T(?:(?P<hours>\d+)H)?(?:(?P<minutes>\d+)M)?(?:(?P<seconds>\d+(?:\.\d{1,3})?)S)?)?$"
)
_CALENDAR = re.compile(r"^P[^T]*\d[YM]")
_MS = {"weeks": 604_800_000, "days": 86_400_000, "hours": 3_600_000, "minutes": 60_000}

_SERIES_KEY = {
    RELATIONSHIP: "objects",
    LANGUAGE_PROPERTY: "languageMaps",
    VOCAB_PROPERTY: "vocabs",
    JSON_PROPERTY: "jsons",
    LIST_PROPERTY: "valueLists",
    LIST_RELATIONSHIP: "objectLists",
}
"""The temporalValues member per attribute type (4.5.9); Property and GeoProperty: values."""
_WRAPPED = frozenset({LANGUAGE_PROPERTY, VOCAB_PROPERTY, JSON_PROPERTY})
"""Types whose values are shown as {"<valueKey>": value}, since a bare value would be
ambiguous with a plain JSON object. ListProperty and ListRelationship pairs hold the bare
ordered array (4.5.9, examples 3 and 7)."""


@dataclass(frozen=True, slots=True)
class TimeInterval:
    """Which instances of the history a query covers, by one of their time stamps."""

    timerel: str | None = None
    time_at: str | None = None
    end_time_at: str | None = None
    time_at_ms: int | None = None
    end_time_at_ms: int | None = None
    timeproperty: str = "observedAt"

    @property
    def lower_ms(self) -> int | None:
        """Inclusive lower bound, None when unbounded."""
        return self.time_at_ms if self.timerel in ("after", "between") else None

    @property
    def upper_ms(self) -> int | None:
        """Exclusive upper bound, None when unbounded."""
        if self.timerel == "before":
            return self.time_at_ms
        return self.end_time_at_ms if self.timerel == "between" else None


@dataclass(frozen=True, slots=True)
class Aggregation:
    """aggrMethods over periods of `period_ms` (0: the whole interval is one period)."""

    methods: tuple[str, ...]
    period_ms: int = 0
    period: str = "PT0S"


@dataclass(slots=True)
class Period:
    """One aggregation period of one attribute: [start, end) and a value per method."""

    start_ms: int
    end_ms: int
    values: dict[str, float | int | None]


@dataclass(slots=True)
class AggregatedAttribute:
    type: str
    periods: list[Period] = field(default_factory=list)


@dataclass(slots=True)
class TemporalEntity:
    """An entity's history: instances (each with an instanceId) or aggregated periods."""

    entity: Entity
    """Types, scope and time stamps of the temporal entity; attrs hold the instances."""
    aggregates: dict[str, AggregatedAttribute] = field(default_factory=dict)


# -- parsing -------------------------------------------------------------------------------


def parse_datetime(text: object, what: str) -> tuple[str, int]:
    """An ISO 8601 date-time with a zone (Z or ±hh:mm), and its epoch milliseconds."""
    match = _DATETIME.match(text) if isinstance(text, str) else None
    if match is None:
        raise BadRequestData(
            f"{what} must be an ISO 8601 date-time with a time zone, such as "
            f"2026-01-31T08:00:00Z, not {text!r}."
        )
    assert isinstance(text, str)
    fraction = match.group("fraction") or ""
    normal = text.replace(fraction, fraction[:7].ljust(7, "0") if fraction else "")
    try:
        moment = datetime.fromisoformat(normal.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequestData(f"{what} {text!r} is not a valid date-time.") from None
    return text, epoch_ms(moment)


def epoch_ms(moment: datetime) -> int:
    """Milliseconds since 1970, rounded down, of an aware date-time."""
    delta = moment - datetime(1970, 1, 1, tzinfo=UTC)
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


@lru_cache(maxsize=4096)
def text_epoch_ms(text: str) -> int:
    """`epoch_ms` of ISO 8601 text already checked (UTC when it names no zone).

    Remembered: one write stamps all its instances with the same few times.
    """
    moment = datetime.fromisoformat(text)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return epoch_ms(moment)


MAX_PERIOD_MS = 1000 * 366 * 24 * 3600 * 1000
"""The longest aggregation period: beyond it, period ends leave the calendar (year 9999)."""
LAST_MS = 253402300799999
"""9999-12-31T23:59:59.999Z, the last moment an NGSI-LD DateTime can name."""


def format_ms(ms: int) -> str:
    """Epoch milliseconds as an NGSI-LD DateTime: UTC, `Z`, milliseconds only when not 0.

    Moments past the year 9999 (a period's end, say) are shown as its last millisecond.
    """
    ms = min(ms, LAST_MS)
    moment = datetime.fromtimestamp(ms / 1000, UTC)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    return f"{text}.{ms % 1000:03d}Z" if ms % 1000 else text + "Z"


def parse_duration(text: object) -> int:
    """An ISO 8601 duration of fixed length (weeks to seconds) in milliseconds."""
    if not isinstance(text, str):
        raise BadRequestData(f"aggrPeriodDuration must be an ISO 8601 duration, not {text!r}.")
    match = _DURATION.match(text)
    if match is None or text in ("P", "PT") or text.endswith("T"):
        if _CALENDAR.match(text):
            raise BadRequestData(
                f"aggrPeriodDuration {text!r} counts months or years, whose length varies; "
                "cityos aggregates over fixed periods: use weeks or days (P1W, P30D)."
            )
        raise BadRequestData(
            f"aggrPeriodDuration must be an ISO 8601 duration such as PT1H or P1D, not {text!r}."
        )
    total = 0.0
    for unit, ms in _MS.items():
        total += int(match.group(unit) or 0) * ms
    total += float(match.group("seconds") or 0) * 1000
    if total > MAX_PERIOD_MS:
        raise BadRequestData(f"aggrPeriodDuration {text!r} is longer than 1,000 years.")
    return int(total)


def parse_interval(params: Mapping[str, Any]) -> TimeInterval:
    """timerel, timeAt, endTimeAt and timeproperty, checked together (5.2.21)."""
    timerel = params.get("timerel")
    time_at, end_time_at = params.get("timeAt"), params.get("endTimeAt")
    timeproperty = params.get("timeproperty") or "observedAt"
    if timeproperty not in TIME_PROPERTIES:
        raise BadRequestData(
            f"timeproperty must be one of {', '.join(TIME_PROPERTIES)}, not {timeproperty!r}."
        )
    if timerel is None:
        if time_at is not None or end_time_at is not None:
            raise BadRequestData("timeAt and endTimeAt need timerel (before, after or between).")
        return TimeInterval(timeproperty=timeproperty)
    if timerel not in TIMERELS:
        raise BadRequestData(f"timerel must be before, after or between, not {timerel!r}.")
    if time_at is None:
        raise BadRequestData(f"timerel={timerel} needs timeAt.")
    at, at_ms = parse_datetime(time_at, "timeAt")
    if timerel != "between":
        if end_time_at is not None:
            raise BadRequestData("endTimeAt is only allowed with timerel=between.")
        return TimeInterval(timerel, at, None, at_ms, None, timeproperty)
    if end_time_at is None:
        raise BadRequestData("timerel=between needs endTimeAt.")
    end, end_ms = parse_datetime(end_time_at, "endTimeAt")
    if end_ms <= at_ms:
        raise BadRequestData("endTimeAt must be later than timeAt.")
    return TimeInterval(timerel, at, end, at_ms, end_ms, timeproperty)


def parse_last_n(value: object) -> int | None:
    """lastN: a positive integer (a JSON number in a Query body, text in a URL)."""
    if value is None:
        return None
    text = str(value) if isinstance(value, int) and not isinstance(value, bool) else value
    if not isinstance(text, str) or not text.isdigit() or int(text) < 1 or len(text) > 9:
        raise BadRequestData(f"lastN must be a positive integer, not {value!r}.")
    return int(text)


def parse_aggregation(methods: object, duration: object) -> Aggregation:
    """aggrMethods (a comma-separated string or a list) and aggrPeriodDuration."""
    if methods is None:
        raise BadRequestData("options=aggregatedValues needs aggrMethods.")
    items = methods.split(",") if isinstance(methods, str) else methods
    if not isinstance(items, list) or not items or not all(isinstance(m, str) for m in items):
        raise BadRequestData("aggrMethods must be a list of aggregation method names.")
    names = [m.strip() for m in items]
    unknown = [m for m in names if m not in AGGREGATION_METHODS]
    if unknown:
        raise BadRequestData(
            f"Unknown aggrMethods {', '.join(map(repr, unknown))}; "
            f"use {', '.join(AGGREGATION_METHODS)}."
        )
    period = "PT0S" if duration is None else duration
    return Aggregation(tuple(dict.fromkeys(names)), parse_duration(period), str(period))


# -- rendering -----------------------------------------------------------------------------


def instance_time(inst: Instance, timeproperty: str) -> str | None:
    """The time an instance is placed at: its timeproperty, else when it was modified."""
    found = inst.get(timeproperty) or inst.get("modifiedAt")
    return found if isinstance(found, str) else None


def render_temporal(
    item: TemporalEntity, terms: Terms, view: View, representation: str, timeproperty: str
) -> dict[str, Any]:
    """A temporal entity in the normalized, temporalValues or aggregatedValues representation."""
    entity = item.entity
    out = render_members(entity, terms, view)
    if representation == AGGREGATED_VALUES:
        for iri, aggregate in item.aggregates.items():
            if shows(view, iri):
                out[_key(out, iri, terms)] = _aggregated(aggregate)
        return out
    for iri, instances in entity.attrs.items():
        shown = [
            inst
            for inst in instances
            if view.datasets is None or inst.get("datasetId") in view.datasets
        ]
        if not shows(view, iri) or not shown:
            continue
        key = _key(out, iri, terms)
        if representation == TEMPORAL_VALUES:
            out[key] = _series_by_dataset(shown, terms, timeproperty)
        else:
            out[key] = [
                {**render_instance(inst, terms, view), "instanceId": inst["instanceId"]}
                for inst in shown
            ]
    return out


def _key(out: dict[str, Any], iri: str, terms: Terms) -> str:
    key = terms.compact(iri)
    return iri if key in out else key


def _series_by_dataset(
    instances: list[Instance], terms: Terms, timeproperty: str
) -> dict[str, Any] | list[dict[str, Any]]:
    """temporalValues of one attribute: one series per datasetId (4.5.9, 4.5.5).

    A single series is an object; several are an array, the default instance first, each
    named by its datasetId.
    """
    groups: dict[str | None, list[Instance]] = {}
    for inst in sorted(instances, key=lambda i: i.get("datasetId") is not None):
        groups.setdefault(inst.get("datasetId"), []).append(inst)
    shown = [_series(group, terms, timeproperty, dataset) for dataset, group in groups.items()]
    return shown[0] if len(shown) == 1 else shown


def _series(
    instances: list[Instance], terms: Terms, timeproperty: str, dataset_id: str | None = None
) -> dict[str, Any]:
    """temporalValues: the simplified representation of one attribute (4.5.9)."""
    attr_type = instances[-1]["type"]
    value_key = VALUE_KEY_BY_TYPE[attr_type]
    pairs = []
    for inst in instances:
        value = inst.get(VALUE_KEY_BY_TYPE[inst["type"]])
        if inst["type"] == VOCAB_PROPERTY:
            value = [terms.compact(v) for v in value] if isinstance(value, list) else value
            value = terms.compact(value) if isinstance(value, str) else value
        elif inst["type"] == LIST_RELATIONSHIP and isinstance(value, list):
            value = [item["object"] if isinstance(item, dict) else item for item in value]
        if attr_type in _WRAPPED:
            value = {value_key: value}
        pairs.append([value, instance_time(inst, timeproperty)])
    out: dict[str, Any] = {"type": attr_type}
    if dataset_id is not None:
        out["datasetId"] = dataset_id
    out[_SERIES_KEY.get(attr_type, "values")] = pairs
    return out


def _aggregated(aggregate: AggregatedAttribute) -> dict[str, Any]:
    """aggregatedValues: per method, [value, start, end] of every period (4.5.19)."""
    out: dict[str, Any] = {"type": aggregate.type}
    for period in aggregate.periods:
        start, end = format_ms(period.start_ms), format_ms(period.end_ms)
        for method, value in period.values.items():
            out.setdefault(method, []).append([value, start, end])
    return out


def parse_temporal_entity(body: object, terms: Terms, now: str, *, partial: bool = False) -> Entity:
    """A temporal entity (5.6.11): every attribute an array of instances, datasetIds repeating.

    `partial` accepts a fragment without id and type, as appending instances sends.
    """
    if not isinstance(body, dict):
        raise BadRequestData("A temporal entity must be a JSON object.")
    for name, raw in body.items():
        if name != "@context" and (raw is None or raw == NGSI_LD_NULL):
            # urn:ngsi-ld:null deletes in a Fragment only; here it could only be stored (5.5.4).
            raise BadRequestData(f"{name!r} is null: a temporal entity member needs a value.")
    members = {k: v for k, v in body.items() if k in ENTITY_KEYS or k in ("@id", "@type")}
    entity = parse_entity(members, terms, now, partial=partial)
    for name, raw in body.items():
        if name in members:
            continue
        many = isinstance(raw, list) and bool(raw) and all(isinstance(i, dict) for i in raw)
        for item in raw if many else [raw]:
            for iri, instances in parse_attributes({name: item}, terms, now).items():
                entity.attrs.setdefault(iri, []).extend(instances)
    return entity
