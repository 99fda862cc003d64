"""Rules and their episode states, in the embedded store's database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import orjson

from cityos.store.rows import rule_from_row as _rule
from cityos.store.rules import Fired, RuleState, StoredRule

if TYPE_CHECKING:
    from cityos.store.sqlite import SQLiteStore

RULES_SCHEMA = """
CREATE TABLE IF NOT EXISTS rules (
    seq INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    id TEXT NOT NULL,
    doc TEXT NOT NULL,
    created_at TEXT NOT NULL,
    modified_at TEXT NOT NULL,
    version INTEGER NOT NULL,
    fired INTEGER NOT NULL DEFAULT 0,
    last_fired REAL,
    UNIQUE (tenant, id)
);
CREATE TABLE IF NOT EXISTS rule_states (
    tenant TEXT NOT NULL,
    rule TEXT NOT NULL,
    entity TEXT NOT NULL,
    version INTEGER NOT NULL,
    armed INTEGER NOT NULL,
    since REAL,
    fired_at REAL,
    episode INTEGER NOT NULL,
    owed INTEGER NOT NULL,
    PRIMARY KEY (tenant, rule, entity)
) WITHOUT ROWID;
"""
"""A state row is written only when its (rule, entity) pair changes state, never for an
evaluation that left it as it was."""

_RULE_COLUMNS = "tenant, id, doc, created_at, modified_at, version, fired, last_fired"
_STATE_COLUMNS = "tenant, rule, entity, version, armed, since, fired_at, episode, owed"
_CURRENT = "EXISTS (SELECT 1 FROM rules r WHERE r.tenant = ? AND r.id = ? AND r.version = ?)"


class SQLiteRules:
    """The `RuleStore` of a `SQLiteStore`, sharing its connection and lock."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store

    def put_rule(self, rule: StoredRule) -> int:
        with self._store.transaction() as db:
            found = db.execute(
                "SELECT version FROM rules WHERE tenant = ? AND id = ?", (rule.tenant, rule.id)
            ).fetchone()
            rule.version = (found[0] if found else 0) + 1
            rule.fired, rule.last_fired = 0, None
            db.execute(
                f"INSERT INTO rules ({_RULE_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, 0, NULL) "
                "ON CONFLICT (tenant, id) DO UPDATE SET doc = excluded.doc, "
                "modified_at = excluded.modified_at, version = excluded.version, fired = 0, "
                "last_fired = NULL",
                (
                    rule.tenant,
                    rule.id,
                    orjson.dumps(rule.doc).decode(),
                    rule.created_at,
                    rule.modified_at,
                    rule.version,
                ),
            )
            db.execute(
                "DELETE FROM rule_states WHERE tenant = ? AND rule = ?", (rule.tenant, rule.id)
            )
        return rule.version

    def get_rule(self, tenant: str, rule_id: str) -> StoredRule | None:
        with self._store.reading() as db:
            row = db.execute(
                f"SELECT {_RULE_COLUMNS} FROM rules WHERE tenant = ? AND id = ?", (tenant, rule_id)
            ).fetchone()
        return _rule(row) if row else None

    def list_rules(self, tenant: str | None = None) -> list[StoredRule]:
        where, params = ("WHERE tenant = ?", (tenant,)) if tenant is not None else ("", ())
        with self._store.reading() as db:
            rows = db.execute(
                f"SELECT {_RULE_COLUMNS} FROM rules {where} ORDER BY seq", params
            ).fetchall()
        return [_rule(row) for row in rows]

    def delete_rule(self, tenant: str, rule_id: str) -> bool:
        with self._store.transaction() as db:
            gone = db.execute(
                "DELETE FROM rules WHERE tenant = ? AND id = ?", (tenant, rule_id)
            ).rowcount
            db.execute("DELETE FROM rule_states WHERE tenant = ? AND rule = ?", (tenant, rule_id))
        return gone > 0

    def rule_states(self, tenant: str | None = None) -> list[RuleState]:
        where, params = ("WHERE tenant = ?", (tenant,)) if tenant is not None else ("", ())
        with self._store.reading() as db:
            rows = db.execute(f"SELECT {_STATE_COLUMNS} FROM rule_states {where}", params)
            return [
                RuleState(t, rule, entity, version, bool(armed), since, fired_at, episode, owed)
                for t, rule, entity, version, armed, since, fired_at, episode, owed in rows
            ]

    def save_states(self, states: Sequence[RuleState], fired: Sequence[Fired] = ()) -> None:
        if not states and not fired:
            return
        with self._store.transaction() as db:
            db.executemany(
                f"INSERT OR REPLACE INTO rule_states ({_STATE_COLUMNS}) "
                f"SELECT ?, ?, ?, ?, ?, ?, ?, ?, ? WHERE {_CURRENT}",
                [_state_row(state) for state in states],
            )
            db.executemany(
                "UPDATE rules SET fired = fired + 1, last_fired = max(coalesce(last_fired, 0), ?) "
                "WHERE tenant = ? AND id = ? AND version = ?",
                [(at, tenant, rule_id, version) for tenant, rule_id, version, at in fired],
            )

    def settle(self, state: RuleState, episode: int) -> None:
        with self._store.transaction() as db:
            db.execute(
                "UPDATE rule_states SET owed = 0 "
                "WHERE tenant = ? AND rule = ? AND entity = ? AND version = ? AND owed = ?",
                (state.tenant, state.rule, state.entity, state.version, episode),
            )


def _state_row(state: RuleState) -> tuple[Any, ...]:
    return (
        state.tenant,
        state.rule,
        state.entity,
        state.version,
        int(state.armed),
        state.since,
        state.fired_at,
        state.episode,
        state.owed,
        state.tenant,
        state.rule,
        state.version,
    )
