"""Rules and their episode states, in the embedded store's database."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cityos.store.rules import Fired, RuleState
from cityos.store.rules_sql import STATE_COLUMNS as _STATE_COLUMNS
from cityos.store.rules_sql import SqlRules
from cityos.store.sql_dialect import SQLITE

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

_CURRENT = "EXISTS (SELECT 1 FROM rules r WHERE r.tenant = ? AND r.id = ? AND r.version = ?)"


class SQLiteRules(SqlRules):
    """The `RuleStore` of a `SQLiteStore`, sharing its connection and lock."""

    dialect = SQLITE

    def __init__(self, store: SQLiteStore) -> None:
        super().__init__(store)

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
