"""The demo city's admin key: made on the first `cityos demo`, reused by the next ones.

Only a hash of a key is stored, so the demo keeps the key's full text in a file of its data
directory (`demo-key`, mode 0600) to print it again on every start: the link the demo
prints, a bookmarked `export KEY=…` and the simulator stay valid across restarts. That file
guards nothing the directory does not already give away (its database is there, open to
whoever can read it), and a demo directory never holds a real city (see `cli.demo`).
A key that no longer works (revoked, expired, the store replaced) or a lost file gets a
fresh key; the demo keys it leaves behind are revoked, so at most one works at a time.
"""

from __future__ import annotations

import os
from pathlib import Path

from cityos.auth.keys import ApiKeys, split_key
from cityos.auth.principal import ALL_TENANTS
from cityos.store.keys import KeyStore

KEY_FILE = "demo-key"
KEY_NAME = "cityos demo"
ROLE = "admin"


def demo_key(store: KeyStore, data: Path) -> tuple[str, bool]:
    """The demo's working admin key and whether it was made just now."""
    path = data / KEY_FILE
    keys = ApiKeys(store)
    kept = _read(path)
    if kept is not None:
        principal = keys.authenticate(kept)
        if principal is not None and ROLE in principal.role_names:
            return kept, False
    for record in keys.list():  # superseded demo keys: whoever holds one is refused now
        if record.name == KEY_NAME and record.revoked_at is None:
            keys.revoke(record.key_id)
    _, key = keys.create(KEY_NAME, [ROLE], [ALL_TENANTS])
    _write(path, key)
    return key, True


def _read(path: Path) -> str | None:
    try:
        text = path.read_text("utf-8").strip()
    except (FileNotFoundError, UnicodeDecodeError):
        return None
    return text if split_key(text) is not None else None


def _write(path: Path, key: str) -> None:
    """Owner-only from the first byte (no window where the key is world-readable), replaced
    atomically so a crash leaves the old file or the new one."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    partial.unlink(missing_ok=True)
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as file:
        file.write(key + "\n")
    os.replace(partial, path)
