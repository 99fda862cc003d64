"""Reading a whole table in batches, for both SQL stores: keyset paging (each batch starts
after the last row's key), so that a batch costs the same at the end of a big table as at
its start (OFFSET would walk every row before it), and each batch is read on its own, so
that nothing is held between them (SQLite's lock, a pooled PostgreSQL connection)."""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from cityos.store.sql_dialect import Dialect, Sql

Row = tuple[Any, ...]


def keyset_batches(
    reading: Callable[[], AbstractContextManager[Any]],
    dialect: Dialect,
    table: str,
    columns: str,
    keys: Sequence[str],
    batch: int,
    where: tuple[str, Sequence[Any]] | None = None,
) -> Iterator[list[Row]]:
    """`columns` of the rows of `table` (matching `where`) in the order of `keys`, which
    must identify a row, `batch` rows at a time."""
    p = dialect.param()
    order = ", ".join(keys)
    after: Row | None = None
    while True:
        sql = Sql(dialect, [], [])
        if where is not None:
            sql.add_part(where)
        if after is not None:
            sql.add_part(_after(dialect, keys, after))
        with reading() as db:
            rows = db.execute(
                f"SELECT {order}, {columns} FROM {table} WHERE {sql.where} "
                f"ORDER BY {order} LIMIT {p}",
                [*sql.params, batch],
            ).fetchall()
        if rows:
            yield [tuple(row[len(keys) :]) for row in rows]
            after = tuple(rows[-1][: len(keys)])
        if len(rows) < batch:
            return


def _after(dialect: Dialect, keys: Sequence[str], values: Row) -> tuple[str, list[Any]]:
    """The rows whose keys come after `values`: `a > x OR (a = x AND (b > y …))`."""
    p = dialect.param()
    first, value = keys[0], values[0]
    if len(keys) == 1:
        return f"{first} > {p}", [value]
    rest, params = _after(dialect, keys[1:], values[1:])
    return f"{first} > {p} OR ({first} = {p} AND ({rest}))", [value, value, *params]
