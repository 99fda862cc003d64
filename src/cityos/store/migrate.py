"""Moving a whole city from one store to another (`cityos migrate`): the embedded store of
a data directory into PostgreSQL, with everything it holds.

Carried, through the `Store` protocol only (so any store can be either end): every
tenant; its entities in result order with their creation and modification times; hosted
and cached @contexts; the history (temporal entities, every instance with its instanceId,
the retention settings); subscriptions with their delivery status and the deliveries still
owed; rules with their versions, counters and per-entity episode states; provisioned
devices; city cases with their whole trail and followers; API keys (hashed, as stored); the
audit log, in its order.
The target's writes are the stores' bulk paths (`Store.load`, `HistoryStore.load_instances`:
COPY on PostgreSQL).

What is not carried, by design: the change log. Changes logged but not yet matched
against the subscriptions mean that a server is running on the source or stopped before it
delivered them; the migration refuses such a source (start and stop the server once, and
it delivers them). The deliveries it had parked in the outbox are carried, in their order,
with change number 0 (their numbers named the source's log). Tenants get new creation
times (nothing reads them).

The target must be empty: a migration does not merge two cities. It is not one
transaction; if it fails half-way the target holds part of the city and must be emptied
(drop its schema) before another attempt. At the end the kinds of rows are counted on both
sides (`Store.census`); the report lists them and whether they agree.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TypeVar

import psycopg

from cityos.store import is_store_url
from cityos.store.audit import AuditFilter
from cityos.store.base import Census, Store
from cityos.store.postgres import PostgresStore
from cityos.store.rows import ALL_TENANTS
from cityos.store.sqlite import SQLiteStore, is_data_dir

T = TypeVar("T")
Progress = Callable[[str, int, int], None]
"""(what is being carried, how many so far, how many in all)."""

ENTITY_BATCH = 1000
CASE_BATCH = 500
INSTANCE_BATCH = 20_000
"""History rows per COPY: big enough that round trips do not count, small enough to hold."""
TENANTS = "tenants"


class MigrationError(Exception):
    """A migration that cannot start, or failed: the message says why and what to do."""


@dataclass(frozen=True, slots=True)
class Count:
    """How many rows of one kind one tenant has on each side (`*`: of no tenant)."""

    kind: str
    tenant: str
    source: int
    target: int

    @property
    def agrees(self) -> bool:
        return self.source == self.target


@dataclass(frozen=True, slots=True)
class MigrationReport:
    counts: list[Count]
    seconds: float

    @property
    def ok(self) -> bool:
        """Whether the target holds as many rows of every kind as the source."""
        return all(count.agrees for count in self.counts)


def _quiet(what: str, done: int, total: int) -> None:
    """No progress to show."""


def open_source(data_dir: Path) -> SQLiteStore:
    """The embedded store in `data_dir`, held alone while the migration reads it."""
    if not data_dir.is_dir():
        raise MigrationError(f"{data_dir} is not a directory.")
    if not is_data_dir(data_dir):
        raise MigrationError(f"{data_dir} is not a cityos data directory (no city in cityos.db).")
    try:
        return SQLiteStore(data_dir, exclusive=True)
    except sqlite3.OperationalError as error:
        if "locked" not in str(error):
            raise
        raise MigrationError(
            f"{data_dir} is in use: a cityos server (or another program) has it open. "
            "Stop it, then migrate."
        ) from None


def open_target(url: str) -> Store:
    """The PostgreSQL store at `url`, its schema created or brought up to date. The message
    of a failure does not repeat the URL (which may hold a password)."""
    if not is_store_url(url):
        raise MigrationError("The target is a postgresql:// URL.")
    try:
        store = PostgresStore(url)
    except (psycopg.Error, ValueError) as error:
        first = _first_line(error)
        if "postgis" in first.lower() and isinstance(error, psycopg.Error):
            raise MigrationError(
                f"PostGIS is missing ({first}): install it on the server (Debian: "
                "postgresql-15-postgis-3) and run CREATE EXTENSION postgis as a superuser."
            ) from None
        raise MigrationError(first) from None
    try:
        store.check_postgis()
    except ValueError as error:
        store.close()
        raise MigrationError(str(error)) from None
    return store


def migrate(source: Store, target: Store, progress: Progress = _quiet) -> MigrationReport:
    """Copy everything `source` holds into the empty `target`, then count both sides."""
    started = time.monotonic()
    if source.subscriptions.unnotified(0, limit=1):
        raise MigrationError(
            "The source holds changes not yet matched against its subscriptions: a server is "
            "running on it, or stopped before delivering them. Start and stop it once (it "
            "delivers them), then migrate."
        )
    held = _census(target)
    if held:
        described = ", ".join(f"{sum(t.values())} {kind}" for kind, t in held.items())
        raise MigrationError(
            f"The target already holds a city ({described}): migrate into an empty database "
            "or schema."
        )
    before = _census(source)
    carry = _CARRIERS[0]
    try:
        for carry in _CARRIERS:
            carry(source, target, before, progress)
    except Exception as error:
        raise MigrationError(
            f"Carrying the {carry.__name__.lstrip('_')} failed: {_first_line(error)}. The "
            "target holds part of the city: empty it (drop its schema) before migrating again."
        ) from error
    after = _census(target)
    counts = [
        Count(kind, tenant, before.get(kind, {}).get(tenant, 0), after.get(kind, {}).get(tenant, 0))
        for kind in dict.fromkeys([*before, *after])
        for tenant in sorted({*before.get(kind, {}), *after.get(kind, {})})
    ]
    return MigrationReport(counts, time.monotonic() - started)


def _first_line(error: Exception) -> str:
    """What went wrong, in one line (psycopg adds the statement and hints below)."""
    return (str(error).strip().splitlines() or [type(error).__name__])[0].rstrip(".")


def _census(store: Store) -> Census:
    """The store's census, with the number of tenants created (as kind `tenants`)."""
    counted = store.census()
    names = store.tenants()
    if names:
        counted[TENANTS] = {ALL_TENANTS: len(names)}
    return counted


def _total(census: Census, kind: str) -> int:
    return sum(census.get(kind, {}).values())


@dataclass(slots=True)
class _Tally:
    """How far the carrying of one kind is, told to `progress` after every batch."""

    kind: str
    total: int
    progress: Progress
    done: int = 0

    def add(self, count: int) -> None:
        self.done += count
        self.progress(self.kind, self.done, self.total)


def _ahead(batches: Iterator[T]) -> Iterator[T]:
    """The batches, each read in a thread while the one before is written: the source's
    reading and the target's writing overlap (both wait on their databases, GIL free)."""
    with ThreadPoolExecutor(1, thread_name_prefix="migrate-read") as reader:
        coming = reader.submit(next, batches, None)
        while (batch := coming.result()) is not None:
            coming = reader.submit(next, batches, None)
            yield batch


def _contexts(source: Store, target: Store, census: Census, progress: Progress) -> None:
    tally = _Tally("contexts", _total(census, "contexts"), progress)
    for context in source.list_contexts(None):
        target.put_context(context)
        tally.add(1)


def _entities(source: Store, target: Store, census: Census, progress: Progress) -> None:
    """Each tenant's entities in result order, then its cases with their trails and
    followers (their `Case` entities came with the others)."""
    tenants = sorted({*source.tenants(), *census.get("entities", {}), *census.get("cases", {})})
    tally = _Tally("entities", _total(census, "entities"), progress)
    for tenant in tenants:
        if tenant:
            target.load(tenant)  # the tenant exists even when it holds nothing
        for entities in _ahead(source.dump_entities(tenant, ENTITY_BATCH)):
            target.load(tenant, entities=entities)
            tally.add(len(entities))
    tally = _Tally("cases", _total(census, "cases"), progress)
    for tenant in tenants:
        for cases in source.cases.dump_cases(tenant, CASE_BATCH):
            target.load(tenant, cases=cases)
            tally.add(len(cases))


def _history(source: Store, target: Store, census: Census, progress: Progress) -> None:
    tally = _Tally("temporal entities", _total(census, "temporal entities"), progress)
    for entities in source.history.dump_entities():
        target.history.load_entities(entities)
        tally.add(len(entities))
    tally = _Tally("history instances", _total(census, "history instances"), progress)
    for rows in _ahead(source.history.dump_instances(INSTANCE_BATCH)):
        target.history.load_instances(rows)
        tally.add(len(rows))
    for tenant, days in source.history.retention().items():
        target.history.set_retention(tenant, days)


def _subscriptions(source: Store, target: Store, census: Census, progress: Progress) -> None:
    """Subscriptions in creation order, then what they owe: the outbox keeps its order, but
    its change numbers name the source's change log, which is not carried: 0 names none."""
    tally = _Tally("subscriptions", _total(census, "subscriptions"), progress)
    for subscription in source.subscriptions.list_subscriptions():
        target.subscriptions.put_subscription(subscription)
        tally.add(1)
    tally = _Tally("pending deliveries", _total(census, "pending deliveries"), progress)
    for deliveries in source.subscriptions.dump_pending():
        for delivery in deliveries:
            target.subscriptions.add_pending(replace(delivery, change_seq=0))
        tally.add(len(deliveries))


def _rules(source: Store, target: Store, census: Census, progress: Progress) -> None:
    rules = source.rules.list_rules()
    target.rules.load_rules(rules, source.rules.rule_states())
    progress("rules", len(rules), len(rules))


def _devices(source: Store, target: Store, census: Census, progress: Progress) -> None:
    tally = _Tally("devices", _total(census, "devices"), progress)
    for devices in source.devices.dump_devices():
        target.devices.load_devices(devices)
        tally.add(len(devices))


def _citizens(source: Store, target: Store, census: Census, progress: Progress) -> None:
    """References and their counters, e-mail followers and the mail outbox (not counted in
    the census: they follow the cases, which are)."""
    target.citizens.load(source.citizens.dump())


def _keys(source: Store, target: Store, census: Census, progress: Progress) -> None:
    keys = source.keys.list_keys()  # revoked ones too: their ids stay taken
    target.keys.load_keys(keys)
    progress("api keys", len(keys), len(keys))


def _audit(source: Store, target: Store, census: Census, progress: Progress) -> None:
    """The audit log, in its order (appended anew: the target's own numbers)."""
    tally = _Tally("audit records", _total(census, "audit records"), progress)
    after = 0
    while records := source.audit.find(AuditFilter(after=after, limit=AUDIT_BATCH)):
        target.audit.load_audit(records)
        tally.add(len(records))
        after = records[-1].seq or after


AUDIT_BATCH = 5000

_CARRIERS = (
    _contexts,
    _entities,
    _history,
    _subscriptions,
    _rules,
    _devices,
    _citizens,
    _keys,
    _audit,
)
"""Each carries one part of the city, in this order, and is named after it."""
