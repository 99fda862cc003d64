"""Persistence of the city model behind one protocol, `Store`.

Only this package writes SQL. The SQLite backend is the embedded default; a PostgreSQL
backend implements the same protocol and passes the same tests.
"""

from pathlib import Path

from cityos.store.base import EntityQuery, QueryResult, Store, StoredContext, TypeSummary

__all__ = [
    "EntityQuery",
    "QueryResult",
    "Store",
    "StoredContext",
    "TypeSummary",
    "is_store_url",
    "open_store",
]

POSTGRES_SCHEMES = ("postgresql://", "postgres://")


def open_store(location: str | Path, *, synchronous: str = "FULL") -> Store:
    """The store at `location`: a `postgresql://` (or `postgres://`) URL opens PostgreSQL
    with PostGIS (its schema upgraded in place), anything else is the data directory of the
    embedded SQLite store (created on first use). `synchronous` applies to SQLite only."""
    text = str(location)
    if text.startswith(POSTGRES_SCHEMES):
        from cityos.store.postgres import PostgresStore

        return PostgresStore(text)
    from cityos.store.sqlite import SQLiteStore

    return SQLiteStore(Path(location), synchronous=synchronous)


def is_store_url(location: str) -> bool:
    """Whether `location` names a database server rather than a data directory."""
    return location.startswith(POSTGRES_SCHEMES)
