"""The API keys both SQL stores share, written once over a `Dialect`: one row per key in
`api_keys (seq, key_id, doc)`; the document holds the hash, never the key."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import orjson

from cityos.context.errors import AlreadyExists
from cityos.store.keys import KeyRecord
from cityos.store.sql_dialect import Dialect, SqlStore


class SqlKeys:
    """The `KeyStore` of a store with `reading()` and `transaction()`."""

    dialect: Dialect
    unique_violation: type[Exception]

    def __init__(self, store: SqlStore) -> None:
        self._store = store

    def _insert(self) -> str:
        p = self.dialect.param()
        return f"INSERT INTO api_keys (key_id, doc) VALUES ({p}, {self.dialect.param('json')})"

    def add_key(self, key: KeyRecord) -> None:
        try:
            with self._store.transaction() as db:
                db.execute(self._insert(), [key.key_id, key_doc(key)])
        except self.unique_violation:
            raise AlreadyExists(f"Key {key.key_id} already exists.") from None

    def load_keys(self, keys: Sequence[KeyRecord]) -> None:
        if keys:
            with self._store.transaction() as db:
                db.cursor().executemany(self._insert(), [[k.key_id, key_doc(k)] for k in keys])

    def get_key(self, key_id: str) -> KeyRecord | None:
        p = self.dialect.param()
        with self._store.reading() as db:
            row = db.execute(f"SELECT doc FROM api_keys WHERE key_id = {p}", [key_id]).fetchone()
        return key_from_doc(row[0]) if row else None

    def list_keys(self) -> list[KeyRecord]:
        with self._store.reading() as db:
            rows = db.execute("SELECT doc FROM api_keys ORDER BY seq").fetchall()
        return [key_from_doc(doc) for (doc,) in rows]

    def revoke_key(self, key_id: str, at: datetime) -> bool:
        p = self.dialect.param()
        with self._store.transaction() as db:
            row = db.execute(f"SELECT doc FROM api_keys WHERE key_id = {p}", [key_id]).fetchone()
            if row is None:
                return False
            key = key_from_doc(row[0])
            if key.revoked_at is not None:
                return False
            key.revoked_at = at
            db.execute(
                f"UPDATE api_keys SET doc = {self.dialect.param('json')} WHERE key_id = {p}",
                [key_doc(key), key_id],
            )
            return True


def _iso(moment: datetime | None) -> str | None:
    return moment.isoformat() if moment else None


def _moment(text: Any) -> datetime | None:
    return datetime.fromisoformat(text) if text else None


def key_doc(key: KeyRecord) -> str:
    return orjson.dumps(
        {
            "keyId": key.key_id,
            "name": key.name,
            "secretSha256": key.secret_sha256,
            "roles": key.roles,
            "tenants": key.tenants,
            "entity": key.entity,
            "createdAt": _iso(key.created_at),
            "expiresAt": _iso(key.expires_at),
            "revokedAt": _iso(key.revoked_at),
            "extra": key.extra,
        }
    ).decode()


def key_from_doc(doc: Any) -> KeyRecord:
    data = orjson.loads(doc) if isinstance(doc, str | bytes) else doc
    created = _moment(data["createdAt"])
    assert created is not None
    return KeyRecord(
        key_id=data["keyId"],
        name=data["name"],
        secret_sha256=data["secretSha256"],
        roles=list(data["roles"]),
        tenants=list(data["tenants"]),
        created_at=created,
        entity=data.get("entity"),
        expires_at=_moment(data.get("expiresAt")),
        revoked_at=_moment(data.get("revokedAt")),
        extra=dict(data.get("extra") or {}),
    )
