"""Backend-neutral case rows: a `CaseRecord` as the columns every store keeps, and the
figures of statistics from the sums each backend computes in its own SQL."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import orjson

from cityos.governance.model import (
    FINISHED,
    CaseFilter,
    CaseRecord,
    Photo,
    Priority,
    Source,
    Stage,
    State,
    TrailEntry,
    current_stage,
)
from cityos.store.cases import GROUPS, PERIODS, StatsQuery, StatsRow

STAGES = (Stage.ACCEPT, Stage.DISPATCH, Stage.RESOLVE)
"""The stages with deadlines, in the order of their columns."""
EARTH_RADIUS_M = 6_371_008.8
OPEN_CASE = "state NOT IN ({})".format(", ".join(f"'{s.value}'" for s in sorted(FINISHED)))
"""A case still being worked on: neither closed, rejected nor merged."""

COLUMNS = (
    "id, category, state, priority, source, department, district, cell, lon, lat, "
    "reported_at, updated_at, closed_at, accept_due, accept_done, dispatch_due, "
    "dispatch_done, resolve_due, resolve_done, overdue, reopened, token, doc"
)
"""The columns `case_record` reads, in order; `case_row` gives them and then `next_due`."""

COUNTERS: tuple[str, ...] = (
    "received",
    "closed",
    "open",
    *(name for s in STAGES for name in (f"{s}_on_time", f"{s}_finished")),
    "reopened",
    "ever_closed",
)
"""What each case adds to its group's figures, in the order backends sum them: received,
closed, still open, per stage finished on time and finished, reopened, ever closed."""


def check_grouping(query: StatsQuery) -> None:
    """Refuse groupings and periods statistics do not know."""
    for name in query.group_by:
        if name not in GROUPS:
            raise ValueError(f"Cannot group by {name!r}; use {', '.join(GROUPS)}.")
    if query.period is not None and query.period not in PERIODS:
        raise ValueError(f"No period {query.period!r}; use {', '.join(PERIODS)}.")


def case_row(r: CaseRecord) -> tuple[Any, ...]:
    lon, lat = r.location if r.location else (None, None)
    stage = current_stage(r.state)
    next_due = r.due.get(stage) if stage else None
    doc = {
        "description": r.description,
        "address": r.address,
        "media": r.media,
        "attributes": r.attributes,
        "raised_by": r.raised_by,
        "reporter": r.reporter,
        "routing": r.routing,
        "escalated_to": r.escalated_to,
        "merged_into": r.merged_into,
        "duplicate_of": r.duplicate_of,
        "note": r.note,
        "reference": r.reference,
        "photos": [[p.id, p.ext, p.hidden] for p in r.photos],
        "text_hidden": r.text_hidden,
        "supporters": r.supporters,
        "flagged": r.flagged,
    }
    return (
        r.id,
        r.category,
        r.state.value,
        r.priority.value,
        r.source.value,
        r.department,
        r.district,
        r.cell,
        lon,
        lat,
        r.reported_at.timestamp(),
        r.updated_at.timestamp(),
        ts(r.closed_at),
        *(x for stage in STAGES for x in (ts(r.due.get(stage)), ts(r.done.get(stage)))),
        r.overdue.value if r.overdue else None,
        r.reopened,
        r.token,
        orjson.dumps({k: v for k, v in doc.items() if v}).decode(),
        ts(next_due),
    )


def case_record(row: Sequence[Any]) -> CaseRecord:
    (id_, category, state, priority, source, department, district, cell, lon, lat) = row[:10]
    reported, updated, closed = row[10:13]
    times = row[13:19]
    overdue, reopened, token, doc_text = row[19:23]
    doc = orjson.loads(doc_text)
    due = {s: dt(times[2 * i]) for i, s in enumerate(STAGES) if times[2 * i] is not None}
    done = {s: dt(times[2 * i + 1]) for i, s in enumerate(STAGES) if times[2 * i + 1] is not None}
    return CaseRecord(
        id=id_,
        category=category,
        state=State(state),
        priority=Priority(priority),
        source=Source(source),
        department=department,
        routing=doc.get("routing", ""),
        reported_at=dt(reported),
        updated_at=dt(updated),
        description=doc.get("description"),
        location=(lon, lat) if lon is not None else None,
        address=doc.get("address"),
        district=district,
        cell=cell,
        media=doc.get("media", []),
        attributes=doc.get("attributes", {}),
        raised_by=doc.get("raised_by"),
        reporter=doc.get("reporter", {}),
        due=due,
        done=done,
        closed_at=dt(closed) if closed is not None else None,
        overdue=Stage(overdue) if overdue else None,
        escalated_to=doc.get("escalated_to"),
        reopened=reopened,
        merged_into=doc.get("merged_into"),
        duplicate_of=doc.get("duplicate_of"),
        note=doc.get("note"),
        token=token,
        reference=doc.get("reference"),
        photos=[Photo(i, e, bool(h)) for i, e, h in doc.get("photos", [])],
        text_hidden=bool(doc.get("text_hidden")),
        supporters=doc.get("supporters", 0),
        flagged=doc.get("flagged"),
    )


TRAIL_COLUMNS = "case_id, seq, action, from_state, to_state, actor, role, at, note"


def trail_entry(r: Sequence[Any]) -> TrailEntry:
    """A `case_trail` row (`TRAIL_COLUMNS`) as a trail entry."""
    return TrailEntry(
        case_id=r[0],
        seq=r[1],
        action=r[2],
        from_state=State(r[3]) if r[3] else None,
        to_state=State(r[4]),
        actor=r[5],
        role=r[6],
        at=dt(r[7]),
        note=r[8],
    )


def ts(moment: datetime | None) -> float | None:
    return moment.timestamp() if moment is not None else None


def dt(seconds: float) -> datetime:
    return datetime.fromtimestamp(seconds, UTC)


def stats_window(query: StatsQuery) -> CaseFilter:
    """The query's filter, its window replaced by the query's own if it has one."""
    if query.since is None and query.until is None:
        return query.filter
    return replace(query.filter, since=query.since, until=query.until)


def month_start(seconds: float) -> float:
    """The first moment (UTC) of the month `seconds` falls in, as the `month` column has it."""
    day = datetime.fromtimestamp(math.floor(seconds), UTC)
    return datetime(day.year, day.month, 1, tzinfo=UTC).timestamp()


def stats_row(
    names: list[str],
    key: tuple[Any, ...],
    counts: Sequence[int | None],
    late: Sequence[int | None],
    times: Sequence[float | None],
) -> StatsRow:
    """One group's figures from its `COUNTERS` sums, late stages and percentiles."""
    count = dict(zip(COUNTERS, counts, strict=True))
    on_time = {}
    for i, stage in enumerate(STAGES):
        judged = (count[f"{stage}_finished"] or 0) + ((late[i] if late else 0) or 0)
        on_time[stage] = rate(count[f"{stage}_on_time"], judged)
    return StatsRow(
        key={n: v for n, v in zip(names, key, strict=True) if n != "all"},
        received=count["received"] or 0,
        closed=count["closed"] or 0,
        backlog=count["open"] or 0,
        on_time=on_time,
        median_close_s=times[0],
        p90_close_s=times[1],
        reopen_rate=rate(count["reopened"], count["ever_closed"]),
    )


def rate(part: int | None, whole: int | None) -> float | None:
    return (part or 0) / whole if whole else None


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance between two (lon, lat) points, in metres."""
    lon1, lat1, lon2, lat2 = map(math.radians, (*a, *b))
    h = (
        math.sin((lat2 - lat1) / 2) ** 2
        + math.cos(lat1) * math.cos(lat2) * math.sin((lon2 - lon1) / 2) ** 2
    )
    return 2 * EARTH_RADIUS_M * math.asin(math.sqrt(h))


def near_box(location: tuple[float, float], radius_m: float) -> tuple[float, float, float, float]:
    """(min_lat, max_lat, min_lon, max_lon) of a box holding every point within `radius_m`."""
    lon, lat = location
    dlat = math.degrees(radius_m / EARTH_RADIUS_M)
    dlon = dlat / max(math.cos(math.radians(lat)), 1e-6)
    return lat - dlat, lat + dlat, lon - dlon, lon + dlon
