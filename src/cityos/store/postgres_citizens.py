"""The citizens' front door in PostgreSQL (`citizens_sql`, in PostgreSQL's dialect)."""

from __future__ import annotations

from cityos.store.citizens_sql import SqlCitizens
from cityos.store.sql_dialect import POSTGRES


class PostgresCitizens(SqlCitizens):
    """The `CitizenStore` of a `PostgresStore` (its tables come with migration 10)."""

    dialect = POSTGRES
