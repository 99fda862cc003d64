"""The PostgreSQL schema is versioned and upgraded in place when a store opens."""

from __future__ import annotations

from pathlib import Path

import psycopg

from cityos.context.entity import Entity
from cityos.store.postgres_schema import MIGRATIONS, current_version, migrate
from tests.stores import POSTGRES_URL, StoreFactory

NOW = "2026-11-29T00:00:00Z"


def test_an_older_database_is_upgraded_in_place(tmp_path: Path) -> None:
    factory = StoreFactory("postgresql", tmp_path)
    schema = factory.schema("old")
    factory._schemas.add(schema)  # dropped at the end like the stores' own
    try:
        options = f"-c search_path={schema},public"
        with psycopg.connect(POSTGRES_URL, autocommit=True, options=options) as conn:
            assert migrate(conn, upto=2) == [1, 2]  # a database of an older release
            assert current_version(conn) == 2
            conn.execute(
                "INSERT INTO entities (tenant, id, created_at, modified_at, types, attr_names, "
                "doc) VALUES ('', 'urn:ngsi-ld:Sensor:1', %s, %s, '{T}', '{}', "
                """'{"types": ["T"], "attrs": {}}')""",
                [NOW, NOW],
            )
        store = factory("old")
        latest = MIGRATIONS[-1].version
        with store.reading() as db:
            assert current_version(db) == latest
            versions = [v for (v,) in db.execute("SELECT version FROM schema_version ORDER BY 1")]
        assert versions == list(range(1, latest + 1))
        assert store.get("", "urn:ngsi-ld:Sensor:1") == Entity(
            "urn:ngsi-ld:Sensor:1", ["T"], {}, None, NOW, NOW
        )
        store.close()
        reopened = factory("old")  # up to date: nothing to apply
        with reopened.reading() as db:
            assert migrate(db) == []
    finally:
        factory.close()


def test_migrations_are_numbered_in_order() -> None:
    assert [m.version for m in MIGRATIONS] == list(range(1, len(MIGRATIONS) + 1))
