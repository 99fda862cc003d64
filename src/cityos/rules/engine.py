"""The rule engine: evaluates every committed change against the rules, runs the episodes.

Per (rule, entity) an episode starts when the condition becomes true, fires once it has
held for `for` (and the cooldown since the last firing has passed), and re-arms only when
the condition clears. The broker calls `on_commit` on the writer's thread under its write
lock, so that path only decides: rules are indexed by entity type, skipped when the
change touches none of their attributes, and the q conditions of one entity are decided
together in one SQL statement. What follows a decision (saving the new state, running the
actions) goes to a worker thread, in order: the state with the episode number (and the
actions owed for it) is saved before any action runs, and the owed mark is cleared after
they ran, so a crash re-runs an episode's idempotent actions rather than firing it twice.

With a distributed bus (several instances) only the leader evaluates: it takes the changes
from the bus's shared `rules` consumer, one at a time, and a new leader first reloads the
rules and their states from the store. Rules changed on any instance reach the others as
control messages.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace

from cityos.context.broker import Broker, utc_now
from cityos.context.entity import Entity, EntityChange, Instance
from cityos.context.errors import AlreadyExists
from cityos.context.jsonld import ContextResolver
from cityos.context.temporal import TimeInterval, format_ms, text_epoch_ms
from cityos.events.bus import ChangeBus, Control, Delivery, LocalBus
from cityos.events.matching import geo_matches
from cityos.events.notifier import Notifier
from cityos.health import Check
from cityos.metrics import Metrics
from cityos.rules.actions import Actions, CaseOpener, Firing
from cityos.rules.baseline import Baseline
from cityos.rules.model import Deviates, Holds, Rule, compile_rule
from cityos.store.base import EntityQuery
from cityos.store.history import TemporalQuery
from cityos.store.rules import Fired, RuleState, RuleStore, StoredRule
from cityos.store.snapshot import Clause, SnapshotFilter

log = logging.getLogger("cityos.rules")

_HISTORY_PAGE = 500
_UNPLACED = 1 << 62
"""Distributed: the place of a rule put here until its control message is read back."""


@dataclass(slots=True)
class _Live:
    """A rule being served, with its per-entity states and baselines."""

    tenant: str
    rule: Rule
    stored: StoredRule
    clause: Clause | None
    watched: frozenset[str]
    states: dict[str, RuleState] = field(default_factory=dict)
    baselines: dict[str, Baseline] = field(default_factory=dict)
    since: int = 0
    """Distributed: its place in the shared log; it evaluates only the changes after it."""

    def fits(self, types: list[str]) -> bool:
        return any(all(t in types for t in group) for group in self.rule.types)


@dataclass(slots=True)
class _TenantRules:
    """One tenant's rules, indexed by the first type of each of their type groups."""

    all: dict[str, _Live] = field(default_factory=dict)
    by_type: dict[str, list[_Live]] = field(default_factory=dict)

    def add(self, live: _Live) -> None:
        self.all[live.rule.id] = live
        for group in live.rule.types:
            self.by_type.setdefault(group[0], []).append(live)

    def remove(self, rule_id: str) -> _Live | None:
        live = self.all.pop(rule_id, None)
        if live is not None:
            for key in [k for k, lives in self.by_type.items() if live in lives]:
                self.by_type[key] = [other for other in self.by_type[key] if other is not live]
                if not self.by_type[key]:
                    del self.by_type[key]
        return live

    def candidates(self, entity: Entity) -> list[_Live]:
        if len(entity.types) == 1:
            found = self.by_type.get(entity.types[0], [])
        else:
            unique = {id(live): live for t in entity.types for live in self.by_type.get(t, ())}
            found = list(unique.values())
        return [live for live in found if live.fits(entity.types)]


@dataclass(slots=True)
class _Batch:
    """What one evaluation decided, for the worker: states to save, firings to act on."""

    states: list[RuleState] = field(default_factory=list)
    fired: list[Fired] = field(default_factory=list)
    firings: list[tuple[Firing, RuleState | None]] = field(default_factory=list)


@dataclass(frozen=True, slots=True)
class RuleStatus:
    """A rule and how it has been doing."""

    rule: Rule
    created_at: str
    modified_at: str
    fired: int
    last_fired: float | None
    active: int
    """Entities whose condition holds now (an episode in progress, fired or not)."""
    entities: int
    """Entities with a state (episodes seen)."""


class RuleEngine:
    """The rules of every tenant, evaluated on the broker's commits while attached."""

    def __init__(
        self,
        broker: Broker,
        resolver: ContextResolver,
        *,
        open_case: CaseOpener | None = None,
        notifier: Notifier | None = None,
        clock: Callable[[], float] = time.time,
        store: RuleStore | None = None,
        bus: ChangeBus | None = None,
        metrics: Metrics | None = None,
    ) -> None:
        self.broker = broker
        self.metrics = metrics if metrics is not None else Metrics()
        self.bus: ChangeBus = bus or LocalBus()
        self.resolver = resolver
        self.store: RuleStore = store if store is not None else broker.store.rules
        self.actions = Actions(broker, open_case, notifier)
        self.clock = clock
        self._snapshot = SnapshotFilter()
        self._tenants: dict[str, _TenantRules] = {}
        self._due: list[tuple[float, str, str, int, str]] = []
        """(when, tenant, rule id, version, entity id): holding episodes to fire on a tick."""
        self._lock = threading.RLock()
        self._queue: queue.Queue[_Batch | None] = queue.Queue()
        self._worker: threading.Thread | None = None
        self._acting = threading.local()
        self._opened = False
        self._position: int | None = None
        """Distributed: the log place of the change being evaluated."""
        self._own: set[int] = set()
        """Distributed: change-log numbers of the engine's own writes, not to evaluate."""
        if self.bus.distributed:
            self.bus.on_control(self._control)
            self.bus.on_lead(self.reload)

    @property
    def open_case(self) -> CaseOpener | None:
        return self.actions.open_case

    @open_case.setter
    def open_case(self, opener: CaseOpener | None) -> None:
        self.actions.open_case = opener

    # -- lifetime ------------------------------------------------------------------------

    def open(self) -> None:
        """Load the stored rules and states, rebuild baselines, re-run owed actions."""
        if self._opened:
            return
        self._opened = True
        batch = _Batch()
        with self._lock:
            for stored in self.store.list_rules():
                try:
                    rule = compile_rule(stored.doc, self.resolver)
                except Exception as error:
                    log.warning("Rule %s cannot be served: %s", stored.id, error)
                    continue
                self._serve(stored, rule)
            now = self.clock()
            for state in self.store.rule_states():
                live = self._live(state.tenant, state.rule)
                if live is None or live.stored.version != state.version:
                    continue
                live.states[state.entity] = state
                self._schedule(live, state)
                if state.owed:
                    firing = Firing("fire", state.tenant, live.rule, state.entity, state.owed, now)
                    batch.firings.append((firing, state))
            for rules in self._tenants.values():
                for live in rules.all.values():
                    self._resync(live, now, batch)
        self._submit(batch)

    def _resync(self, live: _Live, now: float, out: _Batch) -> None:
        """Bring a `q` rule's stored states in line with the entities as stored now.

        A change is acknowledged before its decision is saved (that happens on the worker),
        so a crash in between would leave a held condition without an episode, never to
        fire if no further change came; or a cleared one still holding. The entities that
        satisfy the condition now start holding (their `for` counts from the restart);
        the episodes of those that no longer do clear. Deviation rules have no such query.
        """
        if not isinstance(live.rule.when, Holds):
            return
        holding: set[str] = set()
        offset = 0
        while True:  # bounded: every page moves on by its length, and the last is short
            page = self.broker.store.query(
                live.tenant,
                EntityQuery(
                    types=live.rule.types,
                    q=live.rule.when.q,
                    geo=live.rule.geo,
                    limit=_HISTORY_PAGE,
                    offset=offset,
                ),
            )
            holding.update(entity.id for entity in page.entities)
            if not page.more or not page.entities:
                break
            offset += len(page.entities)
        for entity_id in sorted(holding):
            self._decide(live, entity_id, True, now, out)
        for entity_id, state in list(live.states.items()):
            if entity_id not in holding and (state.since is not None or not state.armed):
                self._decide(live, entity_id, False, now, out)

    @contextmanager
    def running(self) -> Iterator[RuleEngine]:
        """Open, listen to the broker and act on a worker thread until the block ends."""
        self.open()
        self._worker = threading.Thread(target=self._work, name="rules-worker", daemon=True)
        self._worker.start()
        self.metrics.rule_queue.set_function(self._queue.qsize)
        listener = self._note_own if self.bus.distributed else self.on_commit
        self.broker.listeners.append(listener)
        try:
            yield self
        finally:
            self.broker.listeners.remove(listener)
            self._queue.put(None)
            self._worker.join()
            self._worker = None

    def reload(self) -> None:
        """Forget what is in memory and load the rules and states again from the store:
        a new leader takes over from where the last one saved."""
        with self._lock:
            self._tenants.clear()
            self._due.clear()
            self._opened = False
        self.open()

    def _control(self, control: Control) -> None:
        """A rule changed on some instance: serve the stored one (or none)."""
        if control.kind != "rule":
            return
        stored = self.store.get_rule(control.tenant, control.id)
        rule = None
        if stored is not None:
            try:
                rule = compile_rule(stored.doc, self.resolver)
            except Exception as error:
                log.warning("Rule %s cannot be served: %s", stored.id, error)
        with self._lock:
            live = self._live(control.tenant, control.id)
            if live is not None and stored is not None and live.stored.version == stored.version:
                if live.since == _UNPLACED:  # this instance put it: placed now
                    live.since = control.position
                return
            self._tenants.get(control.tenant, _TenantRules()).remove(control.id)
            if stored is not None and rule is not None:
                self._serve(stored, rule).since = control.position

    def _note_own(self, tenant: str, changes: list[EntityChange]) -> None:
        """Distributed: the broker's listener, marking the engine's own writes."""
        if getattr(self._acting, "on", False):
            self._own.update(change.seq for change in changes if change.seq)

    async def take(self, tenant: str, change: EntityChange, delivery: Delivery) -> None:
        """The bus's consumer (on the leader): evaluate one change and return once its
        decisions are saved and acted on."""
        if change.seq in self._own:
            self._own.discard(change.seq)
            return
        self._position = delivery.position
        try:
            self.on_commit(tenant, [change])
        finally:
            self._position = None
        await asyncio.to_thread(self.wait_idle)

    def health(self) -> Check:
        """Running: its worker thread (which saves decisions and acts on them) is alive;
        the decisions waiting for it as the observed value."""
        worker = self._worker
        if worker is None or not worker.is_alive():
            return Check("fail", "the rule engine is not running")
        return Check("pass", observed_value=self._queue.qsize(), observed_unit="queued decisions")

    def wait_idle(self) -> None:
        """Until every decision so far is saved and acted on (tests, shutdown)."""
        self._queue.join()

    # -- rules come and go ---------------------------------------------------------------

    def put(
        self, tenant: str, rule: Rule, *, replace: bool = False, keep_same: bool = False
    ) -> bool:
        """Add a rule (AlreadyExists if its id is taken, unless `replace`); True if new.

        Replacing resets its states and counters; with `keep_same`, an identical document
        is left alone with its states (loading the same rules file at every start).
        """
        existing = self.store.get_rule(tenant, rule.id)
        if existing is not None:
            if not replace:
                raise AlreadyExists(f"Rule {rule.id} already exists.")
            if keep_same and existing.doc == rule.doc:
                return False
        subscriptions = self.actions.subscriptions(tenant, rule)
        now = utc_now()
        stored = StoredRule(
            tenant, rule.id, rule.doc, existing.created_at if existing else now, now
        )
        self.store.put_rule(stored)
        with self._lock:
            old = self._tenants.get(tenant, _TenantRules()).remove(rule.id)
            live = self._serve(stored, rule)
            if self.bus.distributed:
                live.since = _UNPLACED  # placed when its control message is read back
        self.bus.announce(Control("rule", tenant, rule.id))
        self.actions.subscribe(subscriptions)
        if old is not None:
            self.actions.unsubscribe(tenant, old.rule, frozenset(s.id for s in subscriptions))
        return existing is None

    def delete(self, tenant: str, rule_id: str) -> bool:
        gone = self.store.delete_rule(tenant, rule_id)
        with self._lock:
            rules = self._tenants.get(tenant)
            live = rules.remove(rule_id) if rules is not None else None
        self.bus.announce(Control("rule", tenant, rule_id))
        if live is not None:
            self.actions.unsubscribe(tenant, live.rule)
        return gone

    def _serve(self, stored: StoredRule, rule: Rule) -> _Live:
        clause = SnapshotFilter.clause(rule.when.q) if isinstance(rule.when, Holds) else None
        live = _Live(stored.tenant, rule, stored, clause, rule.watched)
        if isinstance(rule.when, Deviates):
            self._rebuild(live, rule.when)
        self._tenants.setdefault(stored.tenant, _TenantRules()).add(live)
        return live

    def _live(self, tenant: str, rule_id: str) -> _Live | None:
        rules = self._tenants.get(tenant)
        return rules.all.get(rule_id) if rules is not None else None

    # -- what is known about them --------------------------------------------------------

    def statuses(self, tenant: str) -> list[RuleStatus]:
        with self._lock:
            rules = self._tenants.get(tenant)
            lives = list(rules.all.values()) if rules is not None else []
            return [_status(live) for live in lives]

    def status(self, tenant: str, rule_id: str) -> RuleStatus | None:
        with self._lock:
            live = self._live(tenant, rule_id)
            return _status(live) if live is not None else None

    def states(self, tenant: str, rule_id: str) -> list[RuleState] | None:
        """Copies of the rule's per-entity states; None when there is no such rule."""
        with self._lock:
            live = self._live(tenant, rule_id)
            if live is None:
                return None
            return [replace(state) for state in live.states.values()]

    # -- evaluation ----------------------------------------------------------------------

    def on_commit(self, tenant: str, changes: list[EntityChange]) -> None:
        """The broker's listener. Writes of the engine's own actions are not evaluated, so
        a rule can never feed on what it wrote."""
        if getattr(self._acting, "on", False):
            return
        rules = self._tenants.get(tenant)
        if rules is None:
            return
        batch = _Batch()
        with self._lock:
            now = self.clock()
            for change in changes:
                self._change(rules, change, now, batch)
        self._submit(batch)

    def _change(self, rules: _TenantRules, change: EntityChange, now: float, out: _Batch) -> None:
        entity = change.after
        if entity is None:
            assert change.before is not None
            for live in self._placed(rules.candidates(change.before)):
                live.baselines.pop(change.entity_id, None)
                self._decide(live, change.entity_id, False, now, out)
            return
        lives = self._placed(rules.candidates(entity))
        if not lives:
            return
        changed = (
            None
            if change.before is None or change.before.types != entity.types
            else change.changed_attrs()
        )
        by_sql: list[_Live] = []
        for live in lives:
            if changed is not None and live.watched.isdisjoint(changed):
                continue
            rule = live.rule
            geo, test = rule.geo, rule.geo_test
            if geo is not None and test is not None and not geo_matches(geo, test, entity):
                self._decide(live, entity.id, False, now, out, entity)
                continue
            if live.clause is None:
                assert isinstance(rule.when, Deviates)
                verdict = self._deviates(live, rule.when, entity)
                if verdict is not None:
                    self._decide(live, entity.id, verdict, now, out, entity)
            else:
                by_sql.append(live)
        if by_sql:
            clauses = [live.clause for live in by_sql if live.clause is not None]
            verdicts = self._snapshot.evaluate(entity, clauses)
            for live, verdict in zip(by_sql, verdicts, strict=True):
                self._decide(live, entity.id, verdict, now, out, entity)

    def _placed(self, lives: list[_Live]) -> list[_Live]:
        """Distributed: the rules that were there when the change was logged."""
        position = self._position
        if position is None:
            return lives
        return [live for live in lives if live.since <= position]

    def _deviates(self, live: _Live, when: Deviates, entity: Entity) -> bool | None:
        """Whether the new value deviates; None when there is no number or baseline yet."""
        inst = entity.instance(when.attribute)
        sample = _sample(inst, entity.modified_at) if inst is not None else None
        if sample is None:
            return None
        at, value = sample
        baseline = live.baselines.get(entity.id)
        if baseline is None:
            baseline = live.baselines[entity.id] = Baseline(when.window_s)
        elif baseline.samples and baseline.samples[-1] == sample:
            return None  # the same reading again (another attribute changed)
        z = baseline.zscore(value, at, when.min_samples)
        baseline.add(at, value)
        return None if z is None else abs(z) >= when.zscore

    def _decide(
        self,
        live: _Live,
        entity_id: str,
        holds: bool,
        now: float,
        out: _Batch,
        entity: Entity | None = None,
    ) -> None:
        """The state machine of one (rule, entity) pair; records only actual changes."""
        state = live.states.get(entity_id)
        if not holds:
            if state is None or (state.since is None and state.armed):
                return
            had_fired = not state.armed
            state.since, state.armed = None, True
            out.states.append(replace(state))
            if had_fired:
                firing = Firing("clear", live.tenant, live.rule, entity_id, state.episode, now)
                out.firings.append((firing, None))
            return
        if state is None:
            state = live.states[entity_id] = RuleState(
                live.tenant, live.rule.id, entity_id, live.stored.version
            )
        started = state.since is None
        if started:
            state.since = now
        if state.armed and _due(live.rule, state) <= now:
            self._fire(live, state, now, out, entity)
        elif started:
            out.states.append(replace(state))
            self._schedule(live, state)

    def _fire(
        self, live: _Live, state: RuleState, now: float, out: _Batch, entity: Entity | None
    ) -> None:
        state.episode += 1
        state.fired_at, state.armed, state.owed = now, False, state.episode
        live.stored.fired += 1
        live.stored.last_fired = now
        self.metrics.rule_firings.labels(live.tenant, live.rule.id).inc()
        saved = replace(state)
        out.states.append(saved)
        out.fired.append((live.tenant, live.rule.id, live.stored.version, now))
        firing = Firing("fire", live.tenant, live.rule, state.entity, state.episode, now, entity)
        out.firings.append((firing, saved))

    def _schedule(self, live: _Live, state: RuleState) -> None:
        if state.armed and state.since is not None:
            due = _due(live.rule, state)
            heapq.heappush(
                self._due, (due, live.tenant, live.rule.id, live.stored.version, state.entity)
            )

    def tick(self, now: float | None = None) -> int:
        """Fire the episodes whose hold time (and cooldown) has passed; how many fired.

        `for` conditions fire even when no update arrives: the app calls this every second.
        """
        batch = _Batch()
        with self._lock:
            now = self.clock() if now is None else now
            while self._due and self._due[0][0] <= now:
                _, tenant, rule_id, version, entity_id = heapq.heappop(self._due)
                live = self._live(tenant, rule_id)
                if live is None or live.stored.version != version:
                    continue
                state = live.states.get(entity_id)
                if state is None or not state.armed or state.since is None:
                    continue
                if _due(live.rule, state) <= now:  # later: a newer entry stands for it
                    self._fire(live, state, now, batch, None)
        self._submit(batch)
        return len(batch.fired)

    # -- the worker: saving and acting ---------------------------------------------------

    def _submit(self, batch: _Batch) -> None:
        if batch.states or batch.firings:
            self._queue.put(batch)

    def _work(self) -> None:
        while True:
            batch = self._queue.get()
            try:
                if batch is None:
                    return
                self._process(batch)
            except Exception:
                log.exception("Saving or acting on rule decisions failed")
            finally:
                self._queue.task_done()

    def _process(self, batch: _Batch) -> None:
        self.store.save_states(batch.states, batch.fired)
        for firing, saved in batch.firings:
            self._acting.on = True
            try:
                self.actions.run(firing)
            except Exception:
                continue  # logged; the episode stays owed and is acted on again at start
            finally:
                self._acting.on = False
            if saved is not None:
                self.store.settle(saved, firing.episode)
                with self._lock:
                    live = self._live(saved.tenant, saved.rule)
                    current = live.states.get(saved.entity) if live is not None else None
                    if current is not None and current.owed == firing.episode:
                        current.owed = 0

    # -- baselines -----------------------------------------------------------------------

    def _rebuild(self, live: _Live, when: Deviates) -> None:
        """The baselines of a deviation rule, from the attribute's history in the window."""
        start_ms = int((self.clock() - when.window_s) * 1000)
        interval = TimeInterval("after", format_ms(start_ms), None, start_ms)
        offset = 0
        while True:
            query = TemporalQuery(
                EntityQuery(
                    types=live.rule.types,
                    attrs=[when.attribute],
                    limit=_HISTORY_PAGE,
                    offset=offset,
                ),
                interval,
                datasets=[None],
            )
            found = self.broker.store.history.query(live.tenant, query)
            for temporal in found.entities:
                baseline = Baseline(when.window_s)
                for inst in temporal.entity.attrs.get(when.attribute, ()):
                    sample = _sample(inst, temporal.entity.modified_at)
                    if sample is not None:
                        baseline.add(*sample)
                if baseline.samples:
                    live.baselines[temporal.entity.id] = baseline
            if not found.more:
                return
            offset += _HISTORY_PAGE


def _due(rule: Rule, state: RuleState) -> float:
    """When a holding episode may fire: held for `for`, and out of the cooldown."""
    assert state.since is not None
    due = state.since + rule.hold_s
    if state.fired_at is not None:
        due = max(due, state.fired_at + rule.cooldown_s)
    return due


def _sample(inst: Instance, modified_at: str) -> tuple[float, float] | None:
    """(time, value) of a numeric reading; its time as the history places it."""
    value = inst.get("value")
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    stamp = inst.get("observedAt") or inst.get("modifiedAt") or modified_at
    return text_epoch_ms(stamp) / 1000.0, float(value)


def _status(live: _Live) -> RuleStatus:
    return RuleStatus(
        live.rule,
        live.stored.created_at,
        live.stored.modified_at,
        live.stored.fired,
        live.stored.last_fired,
        sum(1 for state in live.states.values() if state.since is not None),
        len(live.states),
    )
