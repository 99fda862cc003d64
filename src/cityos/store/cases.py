"""The `CaseStore` protocol: governance's records, trail and statistics, kept by the store.

Case records are written only with their `Case` entity, in the same transaction
(`Store.commit(..., cases=[CaseWrite])`), so the public entity and the private record never
disagree after a crash. Reading, listing and statistics go through this protocol.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol

from cityos.context.entity import EntityChange
from cityos.context.errors import OperationNotSupported
from cityos.governance.entity import CASE_TYPE
from cityos.governance.model import CaseFilter, CaseRecord, Stage, TrailEntry

GROUPS = ("department", "district", "category", "priority", "source")
"""What statistics can be grouped by, besides the period."""
PERIODS = ("day", "week", "month", "year")


@dataclass(slots=True)
class CaseWrite:
    """A case's new record and the trail entries (seq assigned by the store) it adds."""

    record: CaseRecord
    trail: Sequence[TrailEntry] = ()
    followers: Sequence[str] = ()
    """Contacts (of reporters merged into this case) to add to its followers."""


def check_case_entities(changes: Sequence[EntityChange], writes: Sequence[CaseWrite]) -> None:
    """Refuse a commit that changes a `Case` entity without its record: the two must never
    disagree, so cases change only through the governance service, never through the
    generic entity API. Stores call this inside the transaction, before committing."""
    recorded = {w.record.id for w in writes}
    for change in changes:
        if change.entity_id in recorded:
            continue
        for entity in (change.before, change.after):
            if entity is not None and CASE_TYPE in entity.types:
                raise OperationNotSupported(
                    f"{change.entity_id} is a city case: it changes only through "
                    "/governance/cases (or Open311), which keep its record and trail."
                )


@dataclass(slots=True)
class StatsQuery:
    """Statistics over the cases reported in [since, until), grouped as asked."""

    now: datetime
    """Judges stages still open: one whose deadline has passed counts as late."""
    group_by: Sequence[str] = ()
    period: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    filter: CaseFilter = field(default_factory=lambda: CaseFilter(limit=0))


@dataclass(slots=True)
class StatsRow:
    """One group's figures. Rates are None when nothing was there to measure."""

    key: dict[str, str | None]
    received: int
    closed: int
    """Cases now closed (rejected and merged ones are finished, not closed)."""
    backlog: int
    """Cases still being worked on: neither closed, rejected nor merged."""
    on_time: dict[Stage, float | None]
    """Per stage: finished by the deadline / (finished + past the deadline unfinished)."""
    median_close_s: float | None
    p90_close_s: float | None
    """Nearest-rank percentiles of reported → closed, over the closed cases."""
    reopen_rate: float | None
    """Cases reopened at least once / cases closed at least once."""


class CaseStore(Protocol):
    def get(self, tenant: str, case_id: str) -> CaseRecord | None: ...

    def by_token(self, tenant: str, token: str) -> CaseRecord | None: ...

    def find(self, tenant: str, selection: CaseFilter) -> list[CaseRecord]:
        """Matching cases, newest report first, a page of them."""
        ...

    def count(self, tenant: str, selection: CaseFilter) -> int: ...

    def trail(self, tenant: str, case_id: str) -> list[TrailEntry]: ...

    def followers(self, tenant: str, case_id: str) -> list[str]: ...

    def due(self, now: datetime, limit: int = 500) -> list[tuple[str, CaseRecord]]:
        """(tenant, case) for cases whose current stage's deadline passed, not yet flagged."""
        ...

    def open_near(
        self,
        tenant: str,
        category: str,
        location: tuple[float, float],
        radius_m: float,
        since: datetime,
    ) -> list[CaseRecord]:
        """Open cases of the category reported since `since` within `radius_m`, nearest first."""
        ...

    def statistics(self, tenant: str, query: StatsQuery) -> list[StatsRow]: ...

    def dump_cases(self, tenant: str, batch: int = 500) -> Iterator[list[CaseWrite]]:
        """Every case of the tenant, by id, with its whole trail (in order) and followers,
        `batch` cases at a time: what `Store.load` writes back (a migration)."""
        ...
