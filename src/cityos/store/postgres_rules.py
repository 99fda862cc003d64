"""Rules and their episode states, in PostgreSQL."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from cityos.store.postgres_db import execute_rows
from cityos.store.rows import dumps, rule_from_row
from cityos.store.rules import Fired, RuleState, StoredRule

if TYPE_CHECKING:
    from cityos.store.postgres import PostgresStore

_RULE_COLUMNS = "tenant, id, doc, created_at, modified_at, version, fired, last_fired"
_STATE_COLUMNS = "tenant, rule, entity, version, armed, since, fired_at, episode, owed"
_CURRENT = "EXISTS (SELECT 1 FROM rules r WHERE r.tenant = %s AND r.id = %s AND r.version = %s)"


class PostgresRules:
    """The `RuleStore` of a `PostgresStore`. A state row is written only when its
    (rule, entity) pair changes state, never for an evaluation that left it as it was."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    def put_rule(self, rule: StoredRule) -> int:
        with self._store.transaction() as db:
            found = db.execute(
                "SELECT version FROM rules WHERE tenant = %s AND id = %s", [rule.tenant, rule.id]
            ).fetchone()
            rule.version = (found[0] if found else 0) + 1
            rule.fired, rule.last_fired = 0, None
            db.execute(
                f"INSERT INTO rules ({_RULE_COLUMNS}) "
                "VALUES (%s, %s, %s::jsonb, %s, %s, %s, 0, NULL) "
                "ON CONFLICT (tenant, id) DO UPDATE SET doc = excluded.doc, "
                "modified_at = excluded.modified_at, version = excluded.version, fired = 0, "
                "last_fired = NULL",
                [
                    rule.tenant,
                    rule.id,
                    dumps(rule.doc),
                    rule.created_at,
                    rule.modified_at,
                    rule.version,
                ],
            )
            db.execute(
                "DELETE FROM rule_states WHERE tenant = %s AND rule = %s", [rule.tenant, rule.id]
            )
        return rule.version

    def get_rule(self, tenant: str, rule_id: str) -> StoredRule | None:
        with self._store.reading() as db:
            row = db.execute(
                f"SELECT {_RULE_COLUMNS} FROM rules WHERE tenant = %s AND id = %s",
                [tenant, rule_id],
            ).fetchone()
        return rule_from_row(row) if row else None

    def list_rules(self, tenant: str | None = None) -> list[StoredRule]:
        where, params = ("WHERE tenant = %s", [tenant]) if tenant is not None else ("", [])
        with self._store.reading() as db:
            rows = db.execute(
                f"SELECT {_RULE_COLUMNS} FROM rules {where} ORDER BY seq", params
            ).fetchall()
        return [rule_from_row(row) for row in rows]

    def delete_rule(self, tenant: str, rule_id: str) -> bool:
        with self._store.transaction() as db:
            gone = db.execute(
                "DELETE FROM rules WHERE tenant = %s AND id = %s", [tenant, rule_id]
            ).rowcount
            db.execute("DELETE FROM rule_states WHERE tenant = %s AND rule = %s", [tenant, rule_id])
        return gone > 0

    def rule_states(self, tenant: str | None = None) -> list[RuleState]:
        where, params = ("WHERE tenant = %s", [tenant]) if tenant is not None else ("", [])
        with self._store.reading() as db:
            rows = db.execute(
                f"SELECT {_STATE_COLUMNS} FROM rule_states {where}", params
            ).fetchall()
        return [
            RuleState(t, rule, entity, version, bool(armed), since, fired_at, episode, owed)
            for t, rule, entity, version, armed, since, fired_at, episode, owed in rows
        ]

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

    def settle(self, state: RuleState, episode: int) -> None:
        with self._store.transaction() as db:
            db.execute(
                "UPDATE rule_states SET owed = 0 WHERE tenant = %s AND rule = %s "
                "AND entity = %s AND version = %s AND owed = %s",
                [state.tenant, state.rule, state.entity, state.version, episode],
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
