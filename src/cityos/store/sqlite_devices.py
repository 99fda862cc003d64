"""The device registry in the embedded store's database."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from typing import TYPE_CHECKING

from cityos.context.errors import AlreadyExists
from cityos.store.devices import Device
from cityos.store.rows import device_doc as _doc
from cityos.store.rows import device_from_doc as _device

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

_CHUNK = 500


class SQLiteDevices:
    """The `DeviceRegistry` of a `SQLiteStore`, sharing its connection and lock."""

    def __init__(self, store: SQLiteStore) -> None:
        self._store = store
        with store.transaction() as db:
            db.execute(DEVICES_SCHEMA)

    def add_device(self, device: Device) -> None:
        try:
            with self._store.transaction() as db:
                db.execute(
                    "INSERT INTO devices (tenant, device_id, apikey, doc) VALUES (?, ?, ?, ?)",
                    (device.tenant, device.device_id, device.apikey, _doc(device)),
                )
        except sqlite3.IntegrityError:
            raise AlreadyExists(self._conflict(device)) from None

    def replace_device(self, device: Device) -> bool:
        try:
            with self._store.transaction() as db:
                cursor = db.execute(
                    "UPDATE devices SET apikey = ?, doc = ? WHERE tenant = ? AND device_id = ?",
                    (device.apikey, _doc(device), device.tenant, device.device_id),
                )
        except sqlite3.IntegrityError:
            raise AlreadyExists(self._conflict(device)) from None
        return cursor.rowcount > 0

    def _conflict(self, device: Device) -> str:
        if self.get_device(device.tenant, device.device_id) is not None:
            return f"Device {device.device_id} already exists."
        return (
            f"Device {device.device_id} with this API key is provisioned in another tenant: "
            "measures could not tell them apart; use another API key."
        )

    def get_device(self, tenant: str, device_id: str) -> Device | None:
        with self._store.reading() as db:
            row = db.execute(
                "SELECT doc FROM devices WHERE tenant = ? AND device_id = ?", (tenant, device_id)
            ).fetchone()
        return _device(row[0]) if row else None

    def list_devices(self, tenant: str, limit: int, offset: int) -> tuple[list[Device], int]:
        with self._store.reading() as db:
            rows = db.execute(
                "SELECT doc FROM devices WHERE tenant = ? ORDER BY seq LIMIT ? OFFSET ?",
                (tenant, limit, offset),
            ).fetchall()
            count = db.execute("SELECT count(*) FROM devices WHERE tenant = ?", (tenant,))
            total: int = count.fetchone()[0]
        return [_device(row[0]) for row in rows], total

    def delete_device(self, tenant: str, device_id: str) -> bool:
        with self._store.transaction() as db:
            cursor = db.execute(
                "DELETE FROM devices WHERE tenant = ? AND device_id = ?", (tenant, device_id)
            )
        return cursor.rowcount > 0

    def find_devices(self, device_ids: Iterable[str]) -> dict[str, list[Device]]:
        ids = list(dict.fromkeys(device_ids))
        found: dict[str, list[Device]] = {}
        with self._store.reading() as db:
            for start in range(0, len(ids), _CHUNK):
                chunk = ids[start : start + _CHUNK]
                marks = ",".join("?" * len(chunk))
                for device_id, doc in db.execute(
                    f"SELECT device_id, doc FROM devices WHERE device_id IN ({marks}) ORDER BY seq",
                    chunk,
                ):
                    found.setdefault(device_id, []).append(_device(doc))
        return found
