"""The device registry in PostgreSQL."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from psycopg.errors import UniqueViolation

from cityos.context.errors import AlreadyExists
from cityos.store.devices import Device
from cityos.store.rows import device_doc, device_from_doc

if TYPE_CHECKING:
    from cityos.store.postgres import PostgresStore


class PostgresDevices:
    """The `DeviceRegistry` of a `PostgresStore`."""

    def __init__(self, store: PostgresStore) -> None:
        self._store = store

    def add_device(self, device: Device) -> None:
        try:
            with self._store.transaction() as db:
                db.execute(
                    "INSERT INTO devices (tenant, device_id, apikey, doc) "
                    "VALUES (%s, %s, %s, %s::jsonb)",
                    [device.tenant, device.device_id, device.apikey, device_doc(device)],
                )
        except UniqueViolation:
            raise AlreadyExists(self._conflict(device)) from None

    def replace_device(self, device: Device) -> bool:
        try:
            with self._store.transaction() as db:
                cursor = db.execute(
                    "UPDATE devices SET apikey = %s, doc = %s::jsonb "
                    "WHERE tenant = %s AND device_id = %s",
                    [device.apikey, device_doc(device), device.tenant, device.device_id],
                )
                return cursor.rowcount > 0
        except UniqueViolation:
            raise AlreadyExists(self._conflict(device)) from None

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
                "SELECT doc FROM devices WHERE tenant = %s AND device_id = %s", [tenant, device_id]
            ).fetchone()
        return device_from_doc(row[0]) if row else None

    def list_devices(self, tenant: str, limit: int, offset: int) -> tuple[list[Device], int]:
        with self._store.reading() as db:
            rows = db.execute(
                "SELECT doc FROM devices WHERE tenant = %s ORDER BY seq LIMIT %s OFFSET %s",
                [tenant, limit, offset],
            ).fetchall()
            count = db.execute("SELECT count(*) FROM devices WHERE tenant = %s", [tenant])
            found = count.fetchone()
        return [device_from_doc(row[0]) for row in rows], int(found[0]) if found else 0

    def delete_device(self, tenant: str, device_id: str) -> bool:
        with self._store.transaction() as db:
            cursor = db.execute(
                "DELETE FROM devices WHERE tenant = %s AND device_id = %s", [tenant, device_id]
            )
            return cursor.rowcount > 0

    def find_devices(self, device_ids: Iterable[str]) -> dict[str, list[Device]]:
        ids = list(dict.fromkeys(device_ids))
        found: dict[str, list[Device]] = {}
        with self._store.reading() as db:
            for device_id, doc in db.execute(
                "SELECT device_id, doc FROM devices WHERE device_id = ANY(%s) ORDER BY seq", [ids]
            ).fetchall():
                found.setdefault(device_id, []).append(device_from_doc(doc))
        return found
