"""The benchmarks' throw-away PostgreSQL schemas (bench/pg.py): a store URL that lands in
its own schema with PostGIS still visible, and nothing left behind, also after an error."""

from __future__ import annotations

import psycopg
import pytest
from bench.pg import analyze, schemas, with_schema

from tests.stores import require_postgres


def test_with_schema_appends_to_an_existing_query() -> None:
    url = with_schema("postgresql://u@h/db?sslmode=disable", "s1")
    assert url.startswith("postgresql://u@h/db?sslmode=disable&options=-csearch_path%3Ds1%2C")
    assert url.endswith("&application_name=s1")
    assert with_schema("postgresql://u@h/db", "s1").startswith("postgresql://u@h/db?options=")


def _exists(url: str, schema: str) -> bool:
    with psycopg.connect(url, autocommit=True) as conn:
        found = conn.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [schema])
        return found.fetchone() is not None


def test_a_schema_keeps_postgis_visible_and_is_dropped_afterwards() -> None:
    base = require_postgres()
    with schemas(base) as made:
        url = made("city")
        schema = made.created[0]
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("CREATE TABLE t (g geometry)")
            conn.execute("INSERT INTO t VALUES (ST_MakePoint(106.5, 29.5))")
            row = conn.execute(
                "SELECT current_schema(), application_name FROM pg_stat_activity"
                " WHERE pid = pg_backend_pid()"
            ).fetchone()
        assert row == (schema, schema)
        analyze(url)
        with psycopg.connect(url, autocommit=True) as conn:
            stats = conn.execute(
                "SELECT last_analyze FROM pg_stat_user_tables"
                " WHERE schemaname = %s AND relname = 't'",
                [schema],
            ).fetchone()
        assert stats is not None and stats[0] is not None
    assert not _exists(base, schema)


def test_schemas_are_dropped_when_the_run_fails() -> None:
    base = require_postgres()
    with pytest.raises(KeyboardInterrupt), schemas(base) as made:
        made("a")
        made("b")
        created = list(made.created)
        raise KeyboardInterrupt
    assert len(created) == 2
    assert not any(_exists(base, schema) for schema in created)
