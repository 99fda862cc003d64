"""What every module of the PostgreSQL store shares about talking to the server."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from psycopg import Connection

Db = Connection[tuple[Any, ...]]
"""A pooled connection, autocommitting unless inside `PostgresStore.transaction()`."""


def execute_rows(db: Db, sql: str, rows: Sequence[Sequence[Any]]) -> None:
    """Run `sql` once per row: one round trip for a single row (most commits write one
    entity), a pipelined executemany for more."""
    if len(rows) == 1:
        db.execute(sql, rows[0])
    elif rows:
        db.cursor().executemany(sql, rows)


def copy_rows(db: Db, into: str, rows: Iterable[Sequence[Any]]) -> None:
    """COPY `rows` into `into` ("table (column, …)"): the bulk path of a migration's
    writes, many times faster than row-wise inserts. JSON documents go as their text."""
    with db.cursor().copy(f"COPY {into} FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
