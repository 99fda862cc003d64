"""The device registry both SQL stores share, written once over a `Dialect`: one row per
device in `devices (seq, tenant, device_id, apikey, doc)`, unique by (tenant, device_id)
and by (device_id, apikey)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence

from cityos.context.errors import AlreadyExists
from cityos.store.devices import Device
from cityos.store.keyset_sql import keyset_batches
from cityos.store.rows import device_doc, device_from_doc
from cityos.store.sql_dialect import Dialect, SqlStore

_CHUNK = 500


class SqlDevices:
    """The `DeviceRegistry` of a store with `reading()` and `transaction()`."""

    dialect: Dialect
    unique_violation: type[Exception]
    """What the driver raises when a write breaks a unique constraint."""

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def _insert(self) -> str:
        p = self.dialect.param()
        return (
            "INSERT INTO devices (tenant, device_id, apikey, doc) "
            f"VALUES ({p}, {p}, {p}, {self.dialect.param('json')})"
        )

    def add_device(self, device: Device) -> None:
        try:
            with self._store.transaction() as db:
                db.execute(self._insert(), _row(device))
        except self.unique_violation:
            raise AlreadyExists(self._conflict(device)) from None

    def load_devices(self, devices: Sequence[Device]) -> None:
        if devices:
            with self._store.transaction() as db:
                db.cursor().executemany(self._insert(), [_row(d) for d in devices])

    def dump_devices(self, batch: int = 1000) -> Iterator[list[Device]]:
        for rows in keyset_batches(
            self._store.reading, self.dialect, "devices", "doc", ["seq"], batch
        ):
            yield [device_from_doc(doc) for (doc,) in rows]

    def replace_device(self, device: Device) -> bool:
        p = self.dialect.param()
        try:
            with self._store.transaction() as db:
                cursor = db.execute(
                    f"UPDATE devices SET apikey = {p}, doc = {self.dialect.param('json')} "
                    f"WHERE tenant = {p} AND device_id = {p}",
                    [device.apikey, device_doc(device), device.tenant, device.device_id],
                )
                return bool(cursor.rowcount > 0)
        except self.unique_violation:
            raise AlreadyExists(self._conflict(device)) from None

    def _conflict(self, device: Device) -> str:
        if self.get_device(device.tenant, device.device_id) is not None:
            return f"Device {device.device_id} already exists."
        return (
            f"Device {device.device_id} with this API key is provisioned in another tenant: "
            "measures could not tell them apart; use another API key."
        )

    def get_device(self, tenant: str, device_id: str) -> Device | None:
        p = self.dialect.param()
        with self._store.reading() as db:
            row = db.execute(
                f"SELECT doc FROM devices WHERE tenant = {p} AND device_id = {p}",
                [tenant, device_id],
            ).fetchone()
        return device_from_doc(row[0]) if row else None

    def list_devices(self, tenant: str, limit: int, offset: int) -> tuple[list[Device], int]:
        p = self.dialect.param()
        with self._store.reading() as db:
            rows = db.execute(
                f"SELECT doc FROM devices WHERE tenant = {p} ORDER BY seq LIMIT {p} OFFSET {p}",
                [tenant, limit, offset],
            ).fetchall()
            found = db.execute(f"SELECT count(*) FROM devices WHERE tenant = {p}", [tenant])
            count = found.fetchone()
        return [device_from_doc(row[0]) for row in rows], int(count[0]) if count else 0

    def delete_device(self, tenant: str, device_id: str) -> bool:
        p = self.dialect.param()
        with self._store.transaction() as db:
            cursor = db.execute(
                f"DELETE FROM devices WHERE tenant = {p} AND device_id = {p}", [tenant, device_id]
            )
            return bool(cursor.rowcount > 0)

    def find_devices(self, device_ids: Iterable[str]) -> dict[str, list[Device]]:
        ids = list(dict.fromkeys(device_ids))
        found: dict[str, list[Device]] = {}
        with self._store.reading() as db:
            for start in range(0, len(ids), _CHUNK):
                test, params = self.dialect.in_list("device_id", ids[start : start + _CHUNK])
                for device_id, doc in db.execute(
                    f"SELECT device_id, doc FROM devices WHERE {test} ORDER BY seq", params
                ).fetchall():
                    found.setdefault(device_id, []).append(device_from_doc(doc))
        return found


def _row(device: Device) -> tuple[str, str, str, str]:
    return (device.tenant, device.device_id, device.apikey, device_doc(device))
