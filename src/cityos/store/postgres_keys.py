"""API keys in PostgreSQL (`keys_sql`, in PostgreSQL's dialect)."""

from __future__ import annotations

from psycopg.errors import UniqueViolation

from cityos.store.keys_sql import SqlKeys
from cityos.store.sql_dialect import POSTGRES


class PostgresKeys(SqlKeys):
    """The `KeyStore` of a `PostgresStore`."""

    dialect = POSTGRES
    unique_violation = UniqueViolation
