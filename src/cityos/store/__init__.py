"""Persistence of the city model behind one protocol, `Store`.

Only this package writes SQL. The SQLite backend is the embedded default; a PostgreSQL
backend implements the same protocol and passes the same tests.
"""

from cityos.store.base import EntityQuery, QueryResult, Store, StoredContext, TypeSummary

__all__ = ["EntityQuery", "QueryResult", "Store", "StoredContext", "TypeSummary"]
