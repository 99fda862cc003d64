"""API keys: `cityos_<keyid>_<secret>`, stored as the SHA-256 of the secret, scoped, revocable.

Why plain SHA-256 and not a slow password hash: the secret is 256 bits from
`secrets.token_urlsafe(32)`, so no dictionary or brute force can reach it, however fast
the hash; slow hashes protect low-entropy human passwords and would only cost every request
time. The digest is compared with `hmac.compare_digest`, in constant time.

Checked keys are cached for `CACHE_TTL_S` seconds, so a request does not read the store
each time. A revoke through this object takes effect at once; a revoke by another process
or instance (the CLI, another server on the same database) within `CACHE_TTL_S` seconds.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta

from cityos.auth.principal import (
    ALL_TENANTS,
    Method,
    Principal,
    RoleError,
    RoleKind,
    parse_roles,
)
from cityos.store.keys import KeyRecord, KeyStore

PREFIX = "cityos_"
CACHE_TTL_S = 5.0
CACHE_SIZE = 10_000


def digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def split_key(key: str) -> tuple[str, str] | None:
    """(key id, secret) of a string shaped like a cityos key, else None."""
    if not key.startswith(PREFIX):
        return None
    key_id, sep, secret = key[len(PREFIX) :].partition("_")
    if not sep or not key_id or not secret:
        return None
    return key_id, secret


def principal_of(key: KeyRecord) -> Principal:
    return Principal(
        subject=key.key_id,
        roles=parse_roles(key.roles),
        tenants=frozenset(key.tenants),
        entity=key.entity,
        method=Method.KEY,
    )


class ApiKeys:
    """Creates, checks, lists and revokes the keys of one `KeyStore`."""

    def __init__(
        self, store: KeyStore, clock: Callable[[], datetime] = lambda: datetime.now(UTC)
    ) -> None:
        self.store = store
        self.clock = clock
        self._cache: dict[str, tuple[float, KeyRecord | None]] = {}

    def create(
        self,
        name: str,
        roles: Iterable[str],
        tenants: Iterable[str] = (ALL_TENANTS,),
        entity: str | None = None,
        expires_days: float | None = None,
    ) -> tuple[KeyRecord, str]:
        """A new key and its full text, which is shown once and never stored."""
        roles = sorted(set(roles))
        parsed = parse_roles(roles)
        if not parsed:
            raise RoleError("A key needs at least one role (--role).")
        devices = any(r.kind is RoleKind.DEVICE for r in parsed)
        if devices != (entity is not None):
            raise RoleError(
                "A device key names its entity (--entity URN), and only a device key does."
            )
        tenants = sorted(set(tenants)) or [ALL_TENANTS]
        now = self.clock()
        key_id = secrets.token_hex(6)
        secret = secrets.token_urlsafe(32)
        record = KeyRecord(
            key_id=key_id,
            name=name,
            secret_sha256=digest(secret),
            roles=roles,
            tenants=tenants,
            created_at=now,
            entity=entity,
            expires_at=now + timedelta(days=expires_days) if expires_days else None,
        )
        self.store.add_key(record)
        return record, f"{PREFIX}{key_id}_{secret}"

    def authenticate(self, key: str) -> Principal | None:
        """The principal of a valid, unexpired, unrevoked key; None for any other string."""
        parts = split_key(key)
        if parts is None:
            return None
        key_id, secret = parts
        record = self._lookup(key_id)
        if record is None or record.revoked_at is not None:
            return None
        if record.expires_at is not None and record.expires_at <= self.clock():
            return None
        if not hmac.compare_digest(record.secret_sha256, digest(secret)):
            return None
        return principal_of(record)

    def _lookup(self, key_id: str) -> KeyRecord | None:
        now = time.monotonic()
        cached = self._cache.get(key_id)
        if cached is not None and now - cached[0] < CACHE_TTL_S:
            return cached[1]
        record = self.store.get_key(key_id)
        if len(self._cache) >= CACHE_SIZE:
            self._cache.clear()
        self._cache[key_id] = (now, record)
        return record

    def revoke(self, key_id: str) -> bool:
        self._cache.pop(key_id, None)
        return self.store.revoke_key(key_id, self.clock())

    def list(self) -> list[KeyRecord]:
        return self.store.list_keys()
