"""The `Store` protocol: what the broker needs from any database behind it."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from cityos.context.entity import Entity, EntityChange
from cityos.context.geo import GeoQuery
from cityos.context.query import QNode, ScopeExpr, TypeExpr
from cityos.store.audit import AuditLog
from cityos.store.cases import CaseStore, CaseWrite
from cityos.store.citizens import CitizenStore
from cityos.store.devices import DeviceRegistry
from cityos.store.keys import KeyStore
from cityos.store.rules import RuleStore
from cityos.store.subscriptions import SubscriptionStore

if TYPE_CHECKING:  # history.py builds on EntityQuery, defined here
    from cityos.store.history import HistoryStore


@dataclass(slots=True)
class EntityQuery:
    """A query over one tenant's entities; every name in it is an expanded IRI."""

    types: TypeExpr | None = None
    ids: Sequence[str] | None = None
    id_pattern: str | None = None
    attrs: Sequence[str] | None = None
    """Only entities having at least one of these attributes."""
    q: QNode | None = None
    scope_q: ScopeExpr | None = None
    geo: GeoQuery | None = None
    limit: int = 20
    offset: int = 0
    count: bool = False


@dataclass(slots=True)
class QueryResult:
    entities: list[Entity]
    count: int | None = None
    """Total matches ignoring limit/offset, only when the query asked for it."""
    more: bool = False
    """Whether matches follow this page."""


@dataclass(slots=True)
class TypeSummary:
    """What discovery reports about one entity type."""

    type: str
    entity_count: int
    attributes: dict[str, set[str]] = field(default_factory=dict)
    """Attribute IRI → the attribute types (Property, Relationship, …) seen for it."""
    attribute_counts: dict[str, int] = field(default_factory=dict)
    """Attribute IRI → how many entities of this type have it."""


@dataclass(slots=True)
class StoredContext:
    """A JSON-LD @context kept by the broker and served at /jsonldContexts/{id}."""

    id: str
    url: str
    kind: str
    """`Hosted` (posted by a client) or `Cached` (a local copy of a remote context)."""
    body: dict[str, Any]
    created_at: str
    last_usage: str | None = None
    hits: int = 0
    tenant: str = ""
    """The tenant that posted it; lists and deletions see their own tenant's only."""


Census = dict[str, dict[str, int]]
"""What a store holds, counted: kind (`entities`, `history instances`, …) → tenant → rows.
Kinds that belong to no tenant (retention settings, API keys) count under `*`; a kind or a
tenant without rows is left out."""


class Store(Protocol):
    """Everything the broker persists; implementations serialise their own access."""

    @property
    def subscriptions(self) -> SubscriptionStore: ...

    @property
    def devices(self) -> DeviceRegistry: ...

    @property
    def history(self) -> HistoryStore: ...

    @property
    def cases(self) -> CaseStore: ...

    @property
    def citizens(self) -> CitizenStore: ...

    @property
    def rules(self) -> RuleStore: ...

    @property
    def keys(self) -> KeyStore: ...

    @property
    def audit(self) -> AuditLog: ...

    @property
    def identity(self) -> str:
        """Names the data: the same for every instance on this store (a data directory, a
        database and schema), for names shared with other systems (an MQTT session)."""
        ...

    def has_tenant(self, tenant: str) -> bool: ...

    def get(self, tenant: str, entity_id: str) -> Entity | None:
        """The entity as stored, as a new object the caller may change freely."""
        ...

    def get_many(self, tenant: str, entity_ids: Iterable[str]) -> dict[str, Entity]:
        """Like `get`, for many ids at once; missing ids are left out."""
        ...

    def commit(
        self,
        tenant: str,
        puts: Sequence[Entity],
        deletes: Sequence[str] = (),
        cases: Sequence[CaseWrite] = (),
    ) -> list[EntityChange]:
        """Write `puts` (insert or replace by id), delete `deletes` and write the case
        records of `cases`, all or nothing.

        Creates the tenant on its first write, records every changed attribute instance in
        the history in the same transaction, and returns what changed, in write order.
        """
        ...

    def query(self, tenant: str, query: EntityQuery) -> QueryResult: ...

    def type_summaries(self, tenant: str, types: Sequence[str] | None = None) -> list[TypeSummary]:
        """Per entity type: how many entities, and which attributes of which kinds they have."""
        ...

    def put_context(self, context: StoredContext) -> None: ...

    def get_context(self, context_id: str, tenant: str | None = None) -> StoredContext | None:
        """The context by local id or URL, in `tenant` (None: any tenant's, which the
        @context resolver looks up by URL)."""
        ...

    def list_contexts(self, tenant: str | None = None) -> list[StoredContext]:
        """The tenant's contexts (None: every tenant's, for a migration)."""
        ...

    def delete_context(self, context_id: str, tenant: str) -> bool: ...

    # -- moving a whole city (`store.migrate`) ------------------------------------------

    def tenants(self) -> list[str]:
        """Every tenant a write has created, by name (never the default tenant '')."""
        ...

    def census(self) -> Census:
        """How many rows of each kind every tenant has: what a migration compares."""
        ...

    def dump_entities(self, tenant: str, batch: int = 1000) -> Iterator[list[Entity]]:
        """Every entity of the tenant in result order, `batch` at a time; each batch is
        read on its own, so nothing is held between them."""
        ...

    def load(
        self, tenant: str, entities: Sequence[Entity] = (), cases: Sequence[CaseWrite] = ()
    ) -> None:
        """Write entities the store does not hold yet (after the existing ones, in this
        order) and case records exactly as given, creating the tenant: a restore on the
        bulk path, so no history, change log or case check (a migration carries the
        history and the records on their own)."""
        ...

    def close(self) -> None: ...
