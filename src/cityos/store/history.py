"""The `HistoryStore` protocol: the attribute history behind the NGSI-LD temporal API.

The history is written two ways: by every committed entity change (the store records the
changed instances in the same transaction) and directly by the temporal API, which adds,
corrects and removes instances without touching the current entity (5.6.11-5.6.18).
"""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple, Protocol

from cityos.context.entity import Entity, Instance
from cityos.context.temporal import Aggregation, TemporalEntity, TimeInterval
from cityos.store.base import EntityQuery

INSTANCE_PREFIX = "urn:ngsi-ld:Instance:"
"""instanceIds are this prefix and the history row's number."""


@dataclass(slots=True)
class TemporalQuery:
    """A query over one tenant's history; every name in it is an expanded IRI.

    `entities` chooses the temporal entities and pages them (limit, offset, count); its
    `attrs` also limits the instances returned, and `q` and `geo` are evaluated against the
    instances inside `interval` only (5.7.4.4).
    """

    entities: EntityQuery = field(default_factory=EntityQuery)
    interval: TimeInterval = field(default_factory=TimeInterval)
    last_n: int | None = None
    """Only the last n instances per entity and attribute (within the interval)."""
    datasets: Collection[str | None] | None = None
    """Only instances with these datasetIds (None: the default instance); None: all."""
    aggregation: Aggregation | None = None
    """Aggregate per period instead of returning instances."""
    with_empty: bool = False
    """Also entities without instances in the interval (retrieving one entity by id)."""


@dataclass(slots=True)
class TemporalResult:
    entities: list[TemporalEntity]
    count: int | None = None
    more: bool = False


class HistoryRow(NamedTuple):
    """One stored instance, as every store keeps it: a migration copies these unchanged,
    so instanceIds (`INSTANCE_PREFIX` + `id`) and the derived columns stay as they were."""

    id: int
    tenant: str
    entity: str
    attr: str
    dataset_id: str | None
    observed_ms: int
    """observedAt, or modifiedAt for instances without one, in epoch milliseconds."""
    modified_ms: int
    created_ms: int
    num: float | None
    """The value when it is a number."""
    value: str | None
    """The value as JSON text."""
    doc: str
    """The whole expanded instance as JSON text."""


class HistoryStore(Protocol):
    """Attribute instances over time, per tenant."""

    def query(self, tenant: str, query: TemporalQuery) -> TemporalResult:
        """Matching temporal entities, a page of them, with their instances or aggregates."""
        ...

    def add(self, tenant: str, entity: Entity) -> bool:
        """Add the entity's instances to its history; True when the entity had none before."""
        ...

    def append(self, tenant: str, entity_id: str, attrs: dict[str, list[Instance]]) -> bool:
        """Add instances to an existing temporal entity; False when there is none."""
        ...

    def delete_entity(self, tenant: str, entity_id: str) -> bool:
        """Forget an entity's whole history; False when there was none."""
        ...

    def delete_attribute(
        self, tenant: str, entity_id: str, attr: str, dataset_id: str | None, delete_all: bool
    ) -> bool:
        """Delete the instances of one attribute (one datasetId, or all); False when none."""
        ...

    def update_instance(
        self, tenant: str, entity_id: str, attr: str, instance_id: str, fragment: Instance
    ) -> bool:
        """Overwrite members of one instance; False when there is no such instance."""
        ...

    def delete_instance(self, tenant: str, entity_id: str, attr: str, instance_id: str) -> bool: ...

    def prune_history(self, tenant: str, before_ms: int) -> int:
        """Delete the tenant's instances placed (observedAt) before `before_ms`; how many."""
        ...

    def set_retention(self, tenant: str | None, days: int | None) -> None:
        """Keep `days` of history for `tenant` (None: the default of every tenant).

        `days` None keeps everything (for a tenant: falls back to the default).
        """
        ...

    def retention(self) -> dict[str | None, int]:
        """Days kept per tenant, the default under None."""
        ...

    def apply_retention(self, now_ms: int) -> int:
        """Prune every tenant by its retention; how many instances were deleted."""
        ...

    # -- moving a whole history (`store.migrate`) ----------------------------------------

    def dump_entities(self, batch: int = 1000) -> Iterator[list[tuple[str, Entity]]]:
        """(tenant, entity without attributes) of every temporal entity, `batch` at a time."""
        ...

    def dump_instances(self, batch: int = 10_000) -> Iterator[list[HistoryRow]]:
        """Every stored instance of every tenant in `id` order, `batch` at a time."""
        ...

    def load_entities(self, entities: Sequence[tuple[str, Entity]]) -> None:
        """Write temporal entities (tenant, entity) the history does not hold yet, as they
        are: types, scope and times."""
        ...

    def load_instances(self, rows: Sequence[HistoryRow]) -> None:
        """Write instances unchanged, ids included, on the bulk path (later writes number
        their instances after the highest id loaded)."""
        ...
