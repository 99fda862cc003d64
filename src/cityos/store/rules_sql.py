"""The rule store both SQL stores share, written once over a `Dialect`: `rules` (one row
per rule, with its version and firing counts) and `rule_states` (one row per rule and
entity, written only when the pair changes state). A backend writes the states."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import astuple
from typing import Any

from cityos.store.rows import dumps, rule_from_row
from cityos.store.rules import RuleState, StoredRule
from cityos.store.sql_dialect import Dialect, SqlStore

RULE_COLUMNS = "tenant, id, doc, created_at, modified_at, version, fired, last_fired"
STATE_COLUMNS = "tenant, rule, entity, version, armed, since, fired_at, episode, owed"


class SqlRules:
    """Rules and their states in a store with `reading()` and `transaction()`."""

    dialect: Dialect

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def put_rule(self, rule: StoredRule) -> int:
        p = self.dialect.param()
        key = [rule.tenant, rule.id]
        with self._store.transaction() as db:
            found = db.execute(
                f"SELECT version FROM rules WHERE tenant = {p} AND id = {p}", key
            ).fetchone()
            rule.version = (found[0] if found else 0) + 1
            rule.fired, rule.last_fired = 0, None
            db.execute(
                f"INSERT INTO rules ({RULE_COLUMNS}) "
                f"VALUES ({p}, {p}, {self.dialect.param('json')}, {p}, {p}, {p}, 0, NULL) "
                "ON CONFLICT (tenant, id) DO UPDATE SET doc = excluded.doc, "
                "modified_at = excluded.modified_at, version = excluded.version, fired = 0, "
                "last_fired = NULL",
                [*key, dumps(rule.doc), rule.created_at, rule.modified_at, rule.version],
            )
            db.execute(f"DELETE FROM rule_states WHERE tenant = {p} AND rule = {p}", key)
        return rule.version

    def get_rule(self, tenant: str, rule_id: str) -> StoredRule | None:
        p = self.dialect.param()
        with self._store.reading() as db:
            row = db.execute(
                f"SELECT {RULE_COLUMNS} FROM rules WHERE tenant = {p} AND id = {p}",
                [tenant, rule_id],
            ).fetchone()
        return rule_from_row(row) if row else None

    def _of_tenant(self, tenant: str | None) -> tuple[str, list[Any]]:
        if tenant is None:
            return "", []
        return f"WHERE tenant = {self.dialect.param()}", [tenant]

    def list_rules(self, tenant: str | None = None) -> list[StoredRule]:
        where, params = self._of_tenant(tenant)
        with self._store.reading() as db:
            rows = db.execute(
                f"SELECT {RULE_COLUMNS} FROM rules {where} ORDER BY seq", params
            ).fetchall()
        return [rule_from_row(row) for row in rows]

    def delete_rule(self, tenant: str, rule_id: str) -> bool:
        p = self.dialect.param()
        with self._store.transaction() as db:
            gone = db.execute(
                f"DELETE FROM rules WHERE tenant = {p} AND id = {p}", [tenant, rule_id]
            ).rowcount
            db.execute(
                f"DELETE FROM rule_states WHERE tenant = {p} AND rule = {p}", [tenant, rule_id]
            )
        return bool(gone > 0)

    def load_rules(self, rules: Sequence[StoredRule], states: Sequence[RuleState]) -> None:
        p, j = self.dialect.param(), self.dialect.param("json")
        with self._store.transaction() as db:
            db.cursor().executemany(
                f"INSERT INTO rules ({RULE_COLUMNS}) VALUES ({p}, {p}, {j}, {', '.join([p] * 5)})",
                [(r.tenant, r.id, dumps(r.doc), *astuple(r)[3:]) for r in rules],
            )
            db.cursor().executemany(  # a state's fields are its columns, in order
                f"INSERT INTO rule_states ({STATE_COLUMNS}) VALUES ({', '.join([p] * 9)})",
                [astuple(state) for state in states],
            )

    def rule_states(self, tenant: str | None = None) -> list[RuleState]:
        where, params = self._of_tenant(tenant)
        with self._store.reading() as db:
            rows = db.execute(f"SELECT {STATE_COLUMNS} FROM rule_states {where}", params).fetchall()
        return [
            RuleState(t, rule, entity, version, bool(armed), since, fired_at, episode, owed)
            for t, rule, entity, version, armed, since, fired_at, episode, owed in rows
        ]

    def settle(self, state: RuleState, episode: int) -> None:
        p = self.dialect.param()
        with self._store.transaction() as db:
            db.execute(
                f"UPDATE rule_states SET owed = 0 WHERE tenant = {p} AND rule = {p} "
                f"AND entity = {p} AND version = {p} AND owed = {p}",
                [state.tenant, state.rule, state.entity, state.version, episode],
            )
