"""q and scopeQ decided for one entity in hand, with the very SQL the store queries with.

Subscriptions test each committed change against their q and scopeQ. Rather than keep a
second evaluator of the query language in Python, which would drift from the SQL one, the
entity is put in a private in-memory table shaped like the store's and the compiled clause
runs there: both paths give the same answer by construction.
"""

from __future__ import annotations

import sqlite3
import threading
from typing import Any

import orjson

from cityos.context.entity import Entity
from cityos.context.query import QNode, ScopeExpr
from cityos.store.sqlite import regexp
from cityos.store.sqlite_filters import compile_q, compile_scope


class SnapshotFilter:
    """Answers "does this entity satisfy q and scopeQ?" for entities not (yet) queried."""

    def __init__(self) -> None:
        self._db = sqlite3.connect(":memory:", isolation_level=None, check_same_thread=False)
        self._db.create_function("REGEXP", 2, regexp, deterministic=True)
        self._db.execute("CREATE TABLE entities (rowid INTEGER PRIMARY KEY, doc TEXT NOT NULL)")
        self._lock = threading.Lock()
        self._held: Entity | None = None

    def matches(self, entity: Entity, q: QNode | None, scope_q: ScopeExpr | None) -> bool:
        clauses: list[str] = []
        params: list[Any] = []
        for part in (
            compile_q(q) if q is not None else None,
            compile_scope(scope_q) if scope_q is not None else None,
        ):
            if part is not None:
                clauses.append(f"({part[0]})")
                params.extend(part[1])
        if not clauses:
            return True
        with self._lock:
            self._hold(entity)
            row = self._db.execute(
                f"SELECT 1 FROM entities e WHERE rowid = 1 AND {' AND '.join(clauses)}", params
            ).fetchone()
        return row is not None

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
