"""The entity queries both SQL stores share, written once over a `FilterCompiler`: the
WHERE clause of an entity query (but its geo-query), a page of results with the total on
request, and the page of a geo-query from the candidates SQL and its index chose."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import AbstractContextManager
from typing import Any

from cityos.context.entity import Entity
from cityos.context.geo import GeoMatcher
from cityos.context.query import TypeExpr
from cityos.store.base import EntityQuery, QueryResult
from cityos.store.filters_sql import SQL, FilterCompiler
from cityos.store.keyset_sql import keyset_batches
from cityos.store.rows import entity_from_row
from cityos.store.sql_dialect import Dialect, Sql


def entity_where(
    filters: FilterCompiler,
    tenant: str,
    query: EntityQuery,
    types: Callable[[TypeExpr], SQL],
    attrs: Callable[[Sequence[str]], SQL],
) -> tuple[str, list[Any]]:
    """The WHERE clause of an entity query but its geo-query, with its parameters; `types`
    and `attrs` compile the type expression and the attrs the entities need one of."""
    d = filters.dialect
    sql = Sql(d, [f"e.tenant = {d.param()}"], [tenant])
    if query.ids is not None:
        sql.add_part(d.in_list("e.id", query.ids))
    if query.id_pattern is not None:
        sql.add(d.regexp("e.id"), query.id_pattern)
    if query.types is not None:
        sql.add_part(types(query.types))
    if query.attrs:
        sql.add_part(attrs(query.attrs))
    if query.q is not None:
        sql.add_part(filters.compile_q(query.q))
    if query.scope_q is not None:
        sql.add_part(filters.compile_scope(query.scope_q))
    return sql.where, sql.params


def entity_page(
    db: Any, filters: FilterCompiler, sql: str, where: str, params: list[Any], query: EntityQuery
) -> QueryResult:
    """The page of `sql` (ordered already), with the count of `where` on request."""
    p = filters.dialect.param()
    rows = db.execute(
        f"{sql} LIMIT {p} OFFSET {p}", [*params, query.limit + 1, query.offset]
    ).fetchall()
    count = None
    if query.count:
        found = db.execute(f"SELECT count(*) FROM entities e WHERE {where}", params).fetchone()
        count = int(found[0]) if found else 0
    entities = [entity_from_row(row) for row in rows[: query.limit]]
    return QueryResult(entities, count, more=len(rows) > query.limit)


def geo_page(rows: Iterable[Sequence[Any]], query: EntityQuery) -> QueryResult:
    """Geo-queries: of the candidate rows (in a stable order) shapely decides each one."""
    assert query.geo is not None
    matcher = GeoMatcher(query.geo)
    attr = query.geo.geoproperty
    found: list[Entity] = []
    matched = 0
    seen: set[str] = set()
    for row in rows:
        if row[0] in seen:  # an entity with several instances of the GeoProperty
            continue
        seen.add(row[0])
        entity = entity_from_row(row)
        if not any(
            inst.get("type") == "GeoProperty" and matcher(inst["value"])
            for inst in entity.attrs.get(attr, ())
        ):
            continue
        matched += 1
        if matched > query.offset and len(found) < query.limit:
            found.append(entity)
        elif len(found) >= query.limit and not query.count:
            break
    more = matched > query.offset + len(found)
    return QueryResult(found, matched if query.count else None, more=more)


def entity_batches(
    reading: Callable[[], AbstractContextManager[Any]],
    dialect: Dialect,
    order: str,
    tenant: str,
    batch: int,
) -> Iterator[list[Entity]]:
    """Every entity of `tenant` by its `order` column (the result order: SQLite's rowid,
    PostgreSQL's seq), `batch` at a time."""
    where = (f"tenant = {dialect.param()}", [tenant])
    columns = "id, created_at, modified_at, doc"
    for rows in keyset_batches(reading, dialect, "entities", columns, [order], batch, where):
        yield [entity_from_row(row) for row in rows]
