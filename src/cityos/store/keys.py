"""What authentication persists: API keys, by key id, holding only a hash of the secret.

Keys belong to no tenant: each names the tenants it may be used for. The checking and the
hashing live in `cityos.auth.keys`; this module only holds the record and the protocol.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Protocol


@dataclass(slots=True)
class KeyRecord:
    key_id: str
    name: str
    secret_sha256: str
    """Hex SHA-256 of the secret part: the key itself is never stored."""
    roles: list[str]
    tenants: list[str]
    """Tenant names, or `*` for every tenant."""
    created_at: datetime
    entity: str | None = None
    """The entity a device key writes."""
    expires_at: datetime | None = None
    revoked_at: datetime | None = None
    extra: dict[str, str] = field(default_factory=dict)


class KeyStore(Protocol):
    """API keys, unique by key id."""

    def add_key(self, key: KeyRecord) -> None:
        """Raises `AlreadyExists` when the key id is taken."""
        ...

    def get_key(self, key_id: str) -> KeyRecord | None: ...

    def list_keys(self) -> list[KeyRecord]:
        """Every key (revoked ones too), oldest first."""
        ...

    def revoke_key(self, key_id: str, at: datetime) -> bool:
        """Mark the key revoked; False when there is no such key or it was already."""
        ...

    def load_keys(self, keys: Sequence[KeyRecord]) -> None:
        """Write keys exactly as given (a migration restoring them)."""
        ...
