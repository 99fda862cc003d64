"""The device registry in the embedded store's database (`devices_sql`, in SQLite's dialect)."""

from __future__ import annotations

import sqlite3
from typing import TYPE_CHECKING

from cityos.store.devices_sql import SqlDevices
from cityos.store.sql_dialect import SQLITE

if TYPE_CHECKING:
    from cityos.store.sqlite import SQLiteStore

DEVICES_SCHEMA = """
CREATE TABLE IF NOT EXISTS devices (
    seq INTEGER PRIMARY KEY,
    tenant TEXT NOT NULL,
    device_id TEXT NOT NULL,
    apikey TEXT NOT NULL,
    doc TEXT NOT NULL,
    UNIQUE (tenant, device_id),
    UNIQUE (device_id, apikey)
)
"""


class SQLiteDevices(SqlDevices):
    """The `DeviceRegistry` of a `SQLiteStore`, sharing its connection and lock."""

    dialect = SQLITE
    unique_violation = sqlite3.IntegrityError

    def __init__(self, store: SQLiteStore) -> None:
        super().__init__(store)
        with store.transaction() as db:
            db.execute(DEVICES_SCHEMA)
