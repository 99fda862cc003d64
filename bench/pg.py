"""Throw-away PostgreSQL schemas for the benchmarks that run `cityos serve --store`.

A benchmark gets schemas of its own in the database it is given (`cityos_bench_<random>_…`),
so it never touches a city's tables or another run's, and drops them on the way out, also
on Ctrl-C. The store's URL puts the schema first on the `search_path` and keeps `public`
after it, where PostGIS lives (docs/postgresql.md).
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import urlencode

import psycopg


def with_schema(url: str, schema: str) -> str:
    """`url` with its connections' `search_path` set to `schema`, then `public`, and named
    after it (`application_name`) so that pg_stat_activity tells them apart."""
    options = urlencode({"options": f"-csearch_path={schema},public", "application_name": schema})
    return f"{url}{'&' if '?' in url else '?'}{options}"


class Schemas:
    """Creates schemas under one random prefix on demand; `drop` removes them all."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.prefix = f"cityos_bench_{uuid.uuid4().hex[:8]}"
        self.created: list[str] = []

    def __call__(self, name: str) -> str:
        """A new empty schema `<prefix>_<name>`; the URL of a store kept in it."""
        schema = f"{self.prefix}_{name}"
        with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
            conn.execute(f'CREATE SCHEMA "{schema}"')
        self.created.append(schema)
        return with_schema(self.url, schema)

    def drop(self) -> None:
        with psycopg.connect(self.url, autocommit=True, connect_timeout=10) as conn:
            for schema in self.created:
                conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        self.created.clear()


@contextmanager
def schemas(url: str) -> Iterator[Schemas]:
    """Schemas for one run, all dropped when it ends however it ends."""
    made = Schemas(url)
    try:
        yield made
    finally:
        made.drop()


def analyze(url: str) -> None:
    """Gather the planner's statistics on the tables of the URL's schema, as autovacuum
    does a minute after a load: without them a fresh table's query plans are guesses (and
    a server configured for CI, like the one these benchmarks ran on, has autovacuum off)."""
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        tables = conn.execute(
            "SELECT tablename FROM pg_tables WHERE schemaname = current_schema()"
        ).fetchall()
        for (table,) in tables:
            conn.execute(f'ANALYZE "{table}"')


def server_version(url: str) -> dict[str, Any]:
    """PostgreSQL's and PostGIS's versions, for the record of a run."""
    with psycopg.connect(url, autocommit=True, connect_timeout=10) as conn:
        pg = conn.execute("SHOW server_version").fetchone()
        postgis = conn.execute(
            "SELECT extversion FROM pg_extension WHERE extname = 'postgis'"
        ).fetchone()
    return {"postgresql": pg[0] if pg else "", "postgis": postgis[0] if postgis else ""}
