"""The context broker: every NGSI-LD operation on entities, over any `Store`.

The broker owns the merge rules (append, update, partial update, merge, replace, batch
upserts) and the time stamps; the store only persists whole entities atomically. Each
operation reads what it needs, decides, and commits once, so a rejected request changes
nothing.
"""

from __future__ import annotations

import functools
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass, field
from typing import Any, TypeVar, cast

from cityos.context.entity import (
    SCOPE,
    SYSTEM_KEYS,
    VALUE_KEY_BY_TYPE,
    Entity,
    EntityChange,
    Instance,
    is_deletion,
)
from cityos.context.errors import (
    AlreadyExists,
    BadRequestData,
    NgsiError,
    NonexistentTenant,
    ResourceNotFound,
)
from cityos.context.normalize import BatchItem, is_uri
from cityos.metrics import Metrics
from cityos.store.base import EntityQuery, QueryResult, Store, TypeSummary
from cityos.store.cases import CaseWrite

ChangeListener = Callable[[str, list[EntityChange]], None]
"""Receives (tenant, changes) after each commit; it must not block."""


_Write = TypeVar("_Write", bound=Callable[..., Any])


def _serialized(method: _Write) -> _Write:
    """Run a Broker write method holding the broker's write lock."""

    @functools.wraps(method)
    def locked(self: Broker, *args: Any, **kwargs: Any) -> Any:
        with self._writes:
            return method(self, *args, **kwargs)

    return cast(_Write, locked)


def utc_now() -> str:
    """Now as NGSI-LD writes time stamps: ISO 8601, UTC, microseconds, `Z`."""
    return iso_time(time.time())


_second: tuple[int, str] = (-1, "")


def iso_time(moment: float) -> str:
    """`moment` (seconds since 1970) as NGSI-LD writes time stamps.

    Every write stamps several times; formatting the date only when the second changes
    keeps that cheap.
    """
    global _second
    whole = int(moment // 1)
    if _second[0] != whole:
        _second = (whole, time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(whole)))
    micros = min(999_999, int((moment - whole) * 1_000_000))
    return f"{_second[1]}.{micros:06d}Z"


@dataclass(slots=True)
class NotUpdated:
    attribute: str
    reason: str


@dataclass(slots=True)
class UpdateResult:
    """Which attributes an update changed and why the others were left alone."""

    updated: list[str] = field(default_factory=list)
    not_updated: list[NotUpdated] = field(default_factory=list)


@dataclass(slots=True)
class BatchError:
    entity_id: str
    error: NgsiError


@dataclass(slots=True)
class BatchResult:
    success: list[str] = field(default_factory=list)
    errors: list[BatchError] = field(default_factory=list)


def entity_not_found(entity_id: str) -> ResourceNotFound:
    """The one answer for an entity a caller cannot have: absent, or hidden from it (the
    same text, so that a 404 does not tell which)."""
    return ResourceNotFound(f"Entity {entity_id} does not exist.")


class Broker:
    """NGSI-LD operations on one store; tenants are named per call ('' is the default)."""

    def __init__(
        self, store: Store, clock: Callable[[], str] = utc_now, metrics: Metrics | None = None
    ) -> None:
        self.store = store
        self.clock = clock
        self.metrics = metrics
        """Times every commit when given (the app's)."""
        self.listeners: list[ChangeListener] = []
        self._writes = threading.RLock()
        """Held by every write from read to commit, so that writes from other threads (the
        device gateway's) never interleave and lose each other's changes, and listeners
        hear commits in the order they happened."""
        """Called with every committed write's changes, in commit order (events/ hooks in)."""

    def _commit(
        self,
        tenant: str,
        puts: Sequence[Entity],
        deletes: Sequence[str] = (),
        cases: Sequence[CaseWrite] = (),
    ) -> list[EntityChange]:
        """Commit through the store, then tell the listeners what changed."""
        with self._writes:
            started = time.perf_counter()
            changes = self.store.commit(tenant, puts, deletes, cases)
            if self.metrics is not None:
                self.metrics.store_commit.observe(time.perf_counter() - started)
            if changes:
                for listener in self.listeners:
                    listener(tenant, changes)
        return changes

    def writing(self) -> AbstractContextManager[bool]:
        """Hold the write lock across a read-modify-write of one's own (governance's)."""
        return self._writes

    def commit_cases(
        self, tenant: str, entities: Sequence[Entity], writes: Sequence[CaseWrite]
    ) -> None:
        """Write `Case` entities and their private records together; hold `writing()`
        around the reads that decided them."""
        with self._writes:
            self._commit(tenant, entities, (), writes)

    # -- reading -------------------------------------------------------------------------

    def require_tenant(self, tenant: str) -> None:
        if not self.store.has_tenant(tenant):
            raise NonexistentTenant(f"Tenant {tenant!r} does not exist.")

    def retrieve(self, tenant: str, entity_id: str) -> Entity:
        self.require_tenant(tenant)
        entity = self.store.get(tenant, entity_id)
        if entity is None:
            raise entity_not_found(entity_id)
        return entity

    def entities(self, tenant: str, entity_ids: Sequence[str]) -> dict[str, Entity]:
        """The entities with these ids that exist, by id (to follow Relationships)."""
        return self.store.get_many(tenant, entity_ids)

    def query(self, tenant: str, query: EntityQuery) -> QueryResult:
        self.require_tenant(tenant)
        return self.store.query(tenant, query)

    def type_summaries(self, tenant: str, types: Sequence[str] | None = None) -> list[TypeSummary]:
        self.require_tenant(tenant)
        return self.store.type_summaries(tenant, types)

    # -- single-entity writes ------------------------------------------------------------

    @_serialized
    def create(self, tenant: str, entity: Entity) -> None:
        if self.store.get(tenant, entity.id) is not None:
            raise AlreadyExists(f"Entity {entity.id} already exists.")
        self._commit(tenant, [entity])

    @_serialized
    def replace(self, tenant: str, entity: Entity) -> None:
        """PUT /entities/{id}: a whole new content, keeping the entity's creation time."""
        old = self.retrieve(tenant, entity.id)
        entity.created_at = old.created_at
        self._commit(tenant, [entity])

    @_serialized
    def delete(self, tenant: str, entity_id: str) -> None:
        self.retrieve(tenant, entity_id)
        self._commit(tenant, [], [entity_id])

    @_serialized
    def append(
        self, tenant: str, entity_id: str, fragment: Entity, *, no_overwrite: bool = False
    ) -> UpdateResult:
        """POST /entities/{id}/attrs: add attributes, overwriting unless `no_overwrite`."""
        entity = self.retrieve(tenant, entity_id)  # a fresh object: ours to change
        types = list(entity.types)
        result = _append(entity, fragment, no_overwrite=no_overwrite)
        self._save(tenant, entity, result, entity.types != types)
        return result

    @_serialized
    def update(self, tenant: str, entity_id: str, fragment: Entity) -> UpdateResult:
        """PATCH /entities/{id}/attrs: change attributes; `urn:ngsi-ld:null` deletes one.

        As the ETSI conformance suite reads the operation, attributes the entity lacks are
        added; only a scope the entity lacks is reported as not updated.
        """
        entity = self.retrieve(tenant, entity_id)  # a fresh object: ours to change
        result = UpdateResult()
        now = self.clock()
        retyped = _merge_types(entity, fragment)
        if fragment.scope is not None:
            if entity.scope is None:
                result.not_updated.append(NotUpdated(SCOPE, "The entity has no scope."))
            else:
                entity.scope = fragment.scope
                _add_once(result.updated, SCOPE)
        for attr, instances in fragment.attrs.items():
            for inst in instances:
                if is_deletion(inst):
                    if not _drop_instance(entity, attr, inst.get("datasetId")):
                        result.not_updated.append(NotUpdated(attr, "No such instance."))
                        continue
                else:
                    _replace_instance(entity.attrs.setdefault(attr, []), inst, now)
                _add_once(result.updated, attr)
        self._save(tenant, entity, result, retyped)
        return result

    @_serialized
    def merge(self, tenant: str, entity_id: str, fragment: Entity) -> None:
        """PATCH /entities/{id}: merge-patch; `urn:ngsi-ld:null` deletes an attribute."""
        entity = self.retrieve(tenant, entity_id)  # a fresh object: ours to change
        now = self.clock()
        _merge_types(entity, fragment)
        if fragment.scope is not None:
            entity.scope = fragment.scope
        for attr, instances in fragment.attrs.items():
            for inst in instances:
                if is_deletion(inst):
                    _drop_instance(entity, attr, inst.get("datasetId"))
                    continue
                old = entity.instance(attr, inst.get("datasetId"))
                if old is None:
                    entity.attrs.setdefault(attr, []).append(inst)
                else:
                    _merge_instance(old, inst, now)
        entity.modified_at = now
        self._commit(tenant, [entity])

    @_serialized
    def update_attribute(self, tenant: str, entity_id: str, attr: str, fragment: Instance) -> None:
        """PATCH /entities/{id}/attrs/{attr}: change the members that `fragment` names."""
        entity = self.retrieve(tenant, entity_id)  # a fresh object: ours to change
        old = entity.instance(attr, fragment.get("datasetId"))
        if old is None:
            raise ResourceNotFound(_missing(entity_id, attr, fragment.get("datasetId")))
        now = self.clock()
        if is_deletion(fragment):
            _drop_instance(entity, attr, fragment.get("datasetId"))
        elif "type" in fragment and fragment["type"] != old["type"]:
            raise BadRequestData(f"{attr} is a {old['type']}, not a {fragment['type']}.")
        else:
            _merge_instance(old, fragment, now)
        entity.modified_at = now
        self._commit(tenant, [entity])

    @_serialized
    def replace_attribute(
        self, tenant: str, entity_id: str, attr: str, instances: list[Instance]
    ) -> None:
        """PUT /entities/{id}/attrs/{attr}: a new content for existing instances."""
        entity = self.retrieve(tenant, entity_id)  # a fresh object: ours to change
        now = self.clock()
        for inst in instances:
            if entity.instance(attr, inst.get("datasetId")) is None:
                raise ResourceNotFound(_missing(entity_id, attr, inst.get("datasetId")))
            _replace_instance(entity.attrs[attr], inst, now)
        entity.modified_at = now
        self._commit(tenant, [entity])

    @_serialized
    def delete_attribute(
        self,
        tenant: str,
        entity_id: str,
        attr: str,
        *,
        dataset_id: str | None = None,
        delete_all: bool = False,
    ) -> None:
        """DELETE /entities/{id}/attrs/{attr}: the default instance, one datasetId, or all."""
        entity = self.retrieve(tenant, entity_id)  # a fresh object: ours to change
        if attr == SCOPE and attr not in entity.attrs:
            if entity.scope is None:
                raise ResourceNotFound(f"Entity {entity_id} has no scope.")
            entity.scope = None
        elif attr not in entity.attrs:
            raise ResourceNotFound(_missing(entity_id, attr, None))
        elif delete_all:
            del entity.attrs[attr]
        elif not _drop_instance(entity, attr, dataset_id):
            raise ResourceNotFound(_missing(entity_id, attr, dataset_id))
        entity.modified_at = self.clock()
        self._commit(tenant, [entity])

    def _save(self, tenant: str, entity: Entity, result: UpdateResult, retyped: bool) -> None:
        if result.updated or retyped:
            entity.modified_at = self.clock()
            self._commit(tenant, [entity])

    # -- batch operations ----------------------------------------------------------------

    @_serialized
    def batch_create(self, tenant: str, items: Sequence[BatchItem]) -> BatchResult:
        existing = self.store.get_many(tenant, _ids(items))
        result, puts = BatchResult(), {}
        for entity_id, item in items:
            if isinstance(item, NgsiError):
                result.errors.append(BatchError(entity_id, item))
            elif item.id in existing or item.id in puts:
                result.errors.append(
                    BatchError(entity_id, AlreadyExists(f"Entity {item.id} already exists."))
                )
            else:
                puts[item.id] = item
                result.success.append(item.id)
        self._commit(tenant, list(puts.values()))
        return result

    @_serialized
    def batch_upsert(
        self, tenant: str, items: Sequence[BatchItem], *, replace: bool = True
    ) -> tuple[BatchResult, set[str]]:
        """Create or change entities; returns the result and the ids that were created."""
        existing = self.store.get_many(tenant, _ids(items))
        result, puts, created = BatchResult(), dict[str, Entity](), set[str]()
        for entity_id, item in items:
            if isinstance(item, NgsiError):
                result.errors.append(BatchError(entity_id, item))
                continue
            old = puts.get(item.id) or existing.get(item.id)
            if old is None:
                created.add(item.id)
                puts[item.id] = item
            elif replace:
                item.created_at = old.created_at
                puts[item.id] = item
            else:
                puts[item.id] = _appended(old, item, no_overwrite=False)
        result.success = list(puts)  # each written entity once, in the order first given
        self._commit(tenant, list(puts.values()))
        return result, created

    @_serialized
    def batch_update(
        self, tenant: str, items: Sequence[BatchItem], *, no_overwrite: bool = False
    ) -> BatchResult:
        existing = self.store.get_many(tenant, _ids(items))
        result, puts = BatchResult(), dict[str, Entity]()
        for entity_id, item in items:
            if isinstance(item, NgsiError):
                result.errors.append(BatchError(entity_id, item))
                continue
            old = puts.get(item.id) or existing.get(item.id)
            if old is None:
                missing = entity_not_found(item.id)
                result.errors.append(BatchError(entity_id, missing))
                continue
            puts[item.id] = _appended(old, item, no_overwrite=no_overwrite)
        result.success = list(puts)
        self._commit(tenant, list(puts.values()))
        return result

    @_serialized
    def batch_delete(self, tenant: str, entity_ids: Sequence[object]) -> BatchResult:
        ids = [i for i in entity_ids if isinstance(i, str)]
        existing = self.store.get_many(tenant, ids)
        result, deletes = BatchResult(), list[str]()
        for entity_id in entity_ids:
            if not isinstance(entity_id, str) or not is_uri(entity_id):
                bad = BadRequestData(f"Entity ids to delete must be URIs, not {entity_id!r}.")
                result.errors.append(BatchError(str(entity_id), bad))
            elif entity_id not in existing or entity_id in deletes:
                missing = entity_not_found(entity_id)
                result.errors.append(BatchError(entity_id, missing))
            else:
                deletes.append(entity_id)
                result.success.append(entity_id)
        self._commit(tenant, [], deletes)
        return result


def _ids(items: Iterable[BatchItem]) -> list[str]:
    return [item.id for _, item in items if isinstance(item, Entity)]


def _add_once(names: list[str], name: str) -> None:
    if name not in names:
        names.append(name)


def _missing(entity_id: str, attr: str, dataset_id: str | None) -> str:
    which = f" with datasetId {dataset_id}" if dataset_id else ""
    return f"Entity {entity_id} has no attribute {attr}{which}."


def _merge_types(entity: Entity, fragment: Entity) -> bool:
    """Add the fragment's types to the entity's; whether any was new."""
    new = [t for t in fragment.types if t not in entity.types]
    entity.types.extend(new)
    return bool(new)


def _append(entity: Entity, fragment: Entity, *, no_overwrite: bool) -> UpdateResult:
    """Add `fragment`'s attributes to `entity` in place (append semantics)."""
    result = UpdateResult()
    _merge_types(entity, fragment)
    if fragment.scope is not None:
        keep = entity.scope if no_overwrite and entity.scope else []
        entity.scope = list(dict.fromkeys([*keep, *fragment.scope]))
        _add_once(result.updated, SCOPE)
    for attr, instances in fragment.attrs.items():
        for inst in instances:
            current = entity.attrs.setdefault(attr, [])
            exists = entity.instance(attr, inst.get("datasetId")) is not None
            if is_deletion(inst):
                if _drop_instance(entity, attr, inst.get("datasetId")):
                    _add_once(result.updated, attr)
                continue
            if exists and no_overwrite:
                result.not_updated.append(NotUpdated(attr, "The attribute exists (noOverwrite)."))
                continue
            _replace_instance(current, inst, inst["modifiedAt"])
            _add_once(result.updated, attr)
    return result


def _appended(old: Entity, item: Entity, *, no_overwrite: bool) -> Entity:
    """`old` with `item`'s attributes appended, modified when `item` was parsed.

    `old` is changed in place: it is a fresh copy from the store or an earlier item of the
    same batch, both this operation's own.
    """
    _append(old, item, no_overwrite=no_overwrite)
    old.modified_at = item.modified_at
    return old


def _replace_instance(instances: list[Instance], new: Instance, now: str) -> None:
    """Put `new` in place of the instance with its datasetId, keeping that one's createdAt."""
    dataset = new.get("datasetId")
    for index, old in enumerate(instances):
        if old.get("datasetId") == dataset:
            new["createdAt"] = old.get("createdAt", now)
            new["modifiedAt"] = now
            instances[index] = new
            return
    instances.append(new)


def _merge_instance(old: Instance, fragment: Instance, now: str) -> None:
    """Change `old` in place with the members `fragment` gives (sub-attributes merged)."""
    for key, member in fragment.items():
        if key in SYSTEM_KEYS:
            continue
        if ":" in key and isinstance(member, dict) and is_deletion(member):
            old.pop(key, None)
        elif ":" in key and isinstance(old.get(key), dict) and isinstance(member, dict):
            _merge_instance(old[key], member, now)
        else:
            old[key] = member
    for key in VALUE_KEY_BY_TYPE.values():
        if key in old and key != VALUE_KEY_BY_TYPE.get(old["type"]):
            del old[key]
    old["modifiedAt"] = now


def _drop_instance(entity: Entity, attr: str, dataset_id: str | None) -> bool:
    instances = entity.attrs.get(attr, [])
    kept = [inst for inst in instances if inst.get("datasetId") != dataset_id]
    if len(kept) == len(instances):
        return False
    if kept:
        entity.attrs[attr] = kept
    else:
        del entity.attrs[attr]
    return True
