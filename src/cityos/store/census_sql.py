"""What a store holds, counted per kind and tenant: SQL both stores share (their tables
have the same names and tenant columns), so that a migration can compare a source and a
target that answer the same question in the same words."""

from __future__ import annotations

from typing import Any

from cityos.store.base import Census
from cityos.store.rows import ALL_TENANTS

PER_TENANT = {
    "entities": "entities",
    "temporal entities": "temporal_entities",
    "history instances": "attr_history",
    "subscriptions": "subscriptions",
    "pending deliveries": "outbox",
    "rules": "rules",
    "rule states": "rule_states",
    "devices": "devices",
    "cases": "cases",
    "trail entries": "case_trail",
    "followers": "case_followers",
    "audit records": "audit_log",
    "contexts": "contexts",
}
"""Kind → the table holding one row per item, with a `tenant` column."""
GLOBAL = {
    "retention settings": "history_retention",
    "api keys": "api_keys",
}
"""Kinds of no tenant, counted under `*`."""


def census(db: Any) -> Census:
    """The counts of every kind, from one connection (a DB-API one of either store)."""
    counted: Census = {}
    for kind, table in PER_TENANT.items():
        rows = db.execute(f"SELECT tenant, count(*) FROM {table} GROUP BY tenant").fetchall()
        if rows:
            counted[kind] = {str(tenant): int(count) for tenant, count in rows}
    for kind, table in GLOBAL.items():
        found = db.execute(f"SELECT count(*) FROM {table}").fetchone()
        if found and found[0]:
            counted[kind] = {ALL_TENANTS: int(found[0])}
    return counted


def tenant_names(db: Any) -> list[str]:
    """The tenants table, by name."""
    return [str(name) for (name,) in db.execute("SELECT name FROM tenants ORDER BY name")]
