"""The device registry in PostgreSQL (`devices_sql`, in PostgreSQL's dialect)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from psycopg.errors import UniqueViolation

from cityos.store.devices_sql import SqlDevices
from cityos.store.sql_dialect import POSTGRES

if TYPE_CHECKING:
    from cityos.store.postgres import PostgresStore


class PostgresDevices(SqlDevices):
    """The `DeviceRegistry` of a `PostgresStore`."""

    dialect = POSTGRES
    unique_violation = UniqueViolation

    def __init__(self, store: PostgresStore) -> None:
        super().__init__(store)
