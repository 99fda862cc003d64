"""API keys in the embedded store's database (`keys_sql`, in SQLite's dialect)."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from cityos.store.keys_sql import SqlKeys
from cityos.store.sql_dialect import SQLITE

if TYPE_CHECKING:
    from cityos.store.sqlite import SQLiteStore

KEYS_SCHEMA = """
CREATE TABLE IF NOT EXISTS api_keys (
    seq INTEGER PRIMARY KEY,
    key_id TEXT NOT NULL UNIQUE,
    doc TEXT NOT NULL
)
"""


class SQLiteKeys(SqlKeys):
    """The `KeyStore` of a `SQLiteStore`, sharing its connection and lock."""

    dialect = SQLITE
    unique_violation = sqlite3.IntegrityError

    def __init__(self, store: SQLiteStore) -> None:
        super().__init__(store)
        with store.transaction() as db:
            db.execute(KEYS_SCHEMA)
