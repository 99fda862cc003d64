"""q and scopeQ decided for one entity in hand, with the very SQL the store queries with.

Subscriptions test each committed change against their q and scopeQ. Rather than keep a
second evaluator of the query language in Python, which would drift from the SQL one, the
entity is put in a private in-memory table shaped like the store's and the compiled clause
runs there: both paths give the same answer by construction.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Sequence
from typing import Any

import orjson

from cityos.context.entity import Entity
from cityos.context.query import QNode, ScopeExpr
from cityos.store.sqlite import regexp
from cityos.store.sqlite_filters import compile_q, compile_scope

Clause = tuple[str, list[Any]]
"""A compiled test: SQL over the row `e` and its parameters."""

_PER_STATEMENT = 200
"""Clauses per SELECT, well inside SQLite's limits on columns and parameters."""


class SnapshotFilter:
    """Answers "does this entity satisfy q and scopeQ?" for entities not (yet) queried."""

    def __init__(self) -> None:
        self._db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self._db.create_function("REGEXP", 2, regexp, deterministic=True)
        self._db.execute("CREATE TABLE entities (rowid INTEGER PRIMARY KEY, doc TEXT NOT NULL)")
        self._lock = threading.Lock()
        self._held: Entity | None = None

    def matches(self, entity: Entity, q: QNode | None, scope_q: ScopeExpr | None) -> bool:
        found = self.clause(q, scope_q)
        return found is None or self.evaluate(entity, [found])[0]

    @staticmethod
    def clause(q: QNode | None, scope_q: ScopeExpr | None = None) -> Clause | None:
        """q and scopeQ compiled once, to be evaluated on many entities; None: no test."""
        parts = [
            part
            for part in (
                compile_q(q) if q is not None else None,
                compile_scope(scope_q) if scope_q is not None else None,
            )
            if part is not None
        ]
        if not parts:
            return None
        return " AND ".join(f"({sql})" for sql, _ in parts), [p for _, ps in parts for p in ps]

    def evaluate(self, entity: Entity, clauses: Sequence[Clause]) -> list[bool]:
        """Each clause's verdict on `entity`, several per statement (rules of one type are
        decided together: `SELECT (c1), (c2), … FROM entities WHERE rowid = 1`)."""
        verdicts: list[bool] = []
        with self._lock:
            self._hold(entity)
            for start in range(0, len(clauses), _PER_STATEMENT):
                chunk = clauses[start : start + _PER_STATEMENT]
                columns = ", ".join(f"coalesce(({sql}), 0)" for sql, _ in chunk)
                params = [p for _, ps in chunk for p in ps]
                row = self._db.execute(
                    f"SELECT {columns} FROM entities e WHERE rowid = 1", params
                ).fetchone()
                verdicts.extend(bool(v) for v in row)
        return verdicts

    def _hold(self, entity: Entity) -> None:
        """Put `entity` in the one-row table, unless it is already the one there."""
        if self._held is entity:  # the reference also keeps the held object alive
            return
        doc: dict[str, Any] = {"types": entity.types, "attrs": entity.attrs}
        if entity.scope is not None:
            doc["scope"] = entity.scope
        self._db.execute(
            "INSERT OR REPLACE INTO entities (rowid, doc) VALUES (1, ?)",
            (orjson.dumps(doc).decode(),),
        )
        self._held = entity
