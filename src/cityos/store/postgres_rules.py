"""Rules and their episode states, in PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cityos.store.postgres_db import execute_rows
from cityos.store.rules import Fired, RuleState
from cityos.store.rules_sql import STATE_COLUMNS as _STATE_COLUMNS
from cityos.store.rules_sql import SqlRules
from cityos.store.sql_dialect import POSTGRES

if TYPE_CHECKING:
    from cityos.store.postgres import PostgresStore

_CURRENT = "EXISTS (SELECT 1 FROM rules r WHERE r.tenant = %s AND r.id = %s AND r.version = %s)"


class PostgresRules(SqlRules):
    """The `RuleStore` of a `PostgresStore`. A state row is written only when its
    (rule, entity) pair changes state, never for an evaluation that left it as it was."""

    dialect = POSTGRES

    def __init__(self, store: PostgresStore) -> None:
        super().__init__(store)

    def save_states(self, states: Sequence[RuleState], fired: Sequence[Fired] = ()) -> None:
        if not states and not fired:
            return
        with self._store.transaction() as db:
            if states:
                execute_rows(
                    db,
                    f"INSERT INTO rule_states ({_STATE_COLUMNS}) "
                    "SELECT %s, %s, %s, %s, %s, %s::double precision, %s::double precision, "
                    f"%s, %s WHERE {_CURRENT} "
                    "ON CONFLICT (tenant, rule, entity) DO UPDATE SET version = excluded.version, "
                    "armed = excluded.armed, since = excluded.since, "
                    "fired_at = excluded.fired_at, episode = excluded.episode, "
                    "owed = excluded.owed",
                    [_state_row(state) for state in states],
                )
            if fired:
                execute_rows(
                    db,
                    "UPDATE rules SET fired = fired + 1, "
                    "last_fired = greatest(coalesce(last_fired, 0), %s) "
                    "WHERE tenant = %s AND id = %s AND version = %s",
                    [(at, tenant, rule_id, version) for tenant, rule_id, version, at in fired],
                )


def _state_row(state: RuleState) -> tuple[Any, ...]:
    return (
        state.tenant,
        state.rule,
        state.entity,
        state.version,
        state.armed,
        state.since,
        state.fired_at,
        state.episode,
        state.owed,
        state.tenant,
        state.rule,
        state.version,
    )
