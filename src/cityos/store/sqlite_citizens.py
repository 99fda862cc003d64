"""The citizens' front door in the embedded store's database (`citizens_sql`, SQLite)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from cityos.store.citizens_sql import SqlCitizens, citizen_tables
from cityos.store.sql_dialect import SQLITE

if TYPE_CHECKING:
    from cityos.store.sqlite import SQLiteStore


class SQLiteCitizens(SqlCitizens):
    """The `CitizenStore` of a `SQLiteStore`, sharing its connection and lock."""

    dialect = SQLITE

    def __init__(self, store: SQLiteStore) -> None:
        super().__init__(store)
        with store.transaction() as db:
            for statement in citizen_tables("INTEGER", "TEXT", "REAL"):
                db.execute(statement)
