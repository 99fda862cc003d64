"""Stores for tests, on every backend: the embedded SQLite store and PostgreSQL/PostGIS.

`StoreFactory` opens stores of one backend at named places: for SQLite a directory under
the test's tmp_path, for PostgreSQL a schema of its own in the test database (created on
first use, dropped when the test ends), so every test starts from an empty database and
opening the same name again reopens the same data.

PostgreSQL is found at $CITYOS_TEST_POSTGRES (default postgresql://postgres@127.0.0.1:5432/
test). When it does not answer, PostgreSQL tests skip with one reason, and fail under
CI=true (see `tests.services.unavailable`).
"""

from __future__ import annotations

import contextlib
import os
import uuid
from functools import cache
from pathlib import Path
from typing import Any

import psycopg

from cityos.store.base import Store
from cityos.store.postgres import PostgresStore
from cityos.store.sqlite import SQLiteStore
from tests.services import unavailable

BACKENDS = ("sqlite", "postgresql")
POSTGRES_URL = os.environ.get("CITYOS_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432/test")


@cache
def postgres_problem() -> str | None:
    """Why PostgreSQL cannot be used, or None when it answers (asked once per session)."""
    try:
        with psycopg.connect(POSTGRES_URL, connect_timeout=3, autocommit=True) as conn:
            conn.execute("SELECT 1")
            if not conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone():
                conn.execute("CREATE EXTENSION IF NOT EXISTS postgis SCHEMA public")
    except psycopg.Error as error:
        first = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        return f"PostgreSQL not reachable at {POSTGRES_URL} ({first})"
    return None


def require_postgres() -> str:
    """The test database's URL; skips the test (fails it under CI) when it does not answer."""
    problem = postgres_problem()
    if problem is not None:
        unavailable(problem)
    return POSTGRES_URL


class StoreFactory:
    """Opens stores of one backend; `close` closes them and drops what they left behind."""

    def __init__(self, backend: str, tmp_path: Path) -> None:
        if backend not in BACKENDS:
            raise ValueError(backend)
        self.backend = backend
        self._tmp = tmp_path
        self._run = uuid.uuid4().hex[:10]
        self._opened: list[Store] = []
        self._schemas: set[str] = set()
        if backend == "postgresql":
            require_postgres()

    def __call__(self, name: str = "data", **options: Any) -> Any:
        """A store at `name` (the same data each time for the same name). SQLite options
        (synchronous) are ignored by PostgreSQL; it is returned as Any so that tests can
        reach backend-specific members such as `history.load_series`."""
        store: Store
        if self.backend == "sqlite":
            store = SQLiteStore(self._tmp / name, synchronous=options.get("synchronous", "OFF"))
        else:
            schema = self.schema(name)
            self._schemas.add(schema)
            store = PostgresStore(POSTGRES_URL, schema=schema, pool_size=4)
        self._opened.append(store)
        return store

    def schema(self, name: str) -> str:
        """The PostgreSQL schema of the store called `name` in this test."""
        safe = "".join(c if c.isalnum() else "_" for c in name.lower())[:30]
        return f"t_{self._run}_{safe}"

    def url(self, name: str = "data") -> str:
        """A `postgresql://` URL whose tables live in the schema of the store called `name`
        (dropped when the test ends), for a `cityos serve --store` of the test's own."""
        schema = self.schema(name)
        self._schemas.add(schema)
        return f"{POSTGRES_URL}?options=-csearch_path%3D{schema},public"

    def close(self) -> None:
        for store in self._opened:
            with contextlib.suppress(Exception):  # already closed by the test
                store.close()
        self._opened.clear()
        if self._schemas:
            with psycopg.connect(POSTGRES_URL, autocommit=True) as conn:
                for schema in self._schemas:
                    conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
            self._schemas.clear()
