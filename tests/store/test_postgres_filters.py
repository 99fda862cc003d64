"""q, scopeQ and type expressions compiled to PostgreSQL select exactly what SQLite selects.

The entities and the expected answers are those of test_sqlite_filters; here they are
stored through `PostgresStore.commit` and queried through `PostgresStore.query`, and every
example of the SQLite tests (and generated queries, against SQLite's own answer) must give
the same entities.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings

from cityos.context.entity import Entity
from cityos.context.query import (
    AttrPath,
    Comparison,
    expand_q,
    expand_types,
    parse_q,
    parse_scope_q,
    parse_type_expr,
)
from cityos.store.base import EntityQuery
from cityos.store.postgres import PostgresStore
from cityos.store.sqlite_filters import compile_q
from tests.store import test_sqlite_filters as reference
from tests.store.test_sqlite_filters import E1, ENTITIES, TENANT, iri
from tests.stores import StoreFactory

NOW = "2026-11-29T00:00:00Z"


@pytest.fixture(scope="module")
def pg(tmp_path_factory: pytest.TempPathFactory) -> Iterator[PostgresStore]:
    factory = StoreFactory("postgresql", tmp_path_factory.mktemp("pg"))
    store: PostgresStore = factory("filters")
    for tenant, entities in ((TENANT, ENTITIES), ("other", {"e9": E1})):
        store.commit(
            tenant,
            [
                Entity(name, doc["types"], doc["attrs"], doc.get("scope"), NOW, NOW)
                for name, doc in entities.items()
            ],
        )
    yield store
    factory.close()


@pytest.fixture(scope="module")
def lite() -> Iterator[sqlite3.Connection]:
    connection = reference._database()
    yield connection
    connection.close()


def found(store: PostgresStore, query: EntityQuery, tenant: str = TENANT) -> set[str]:
    query.limit = 100
    return {e.id for e in store.query(tenant, query).entities}


def _examples(*names: str) -> list[tuple[str, set[str]]]:
    """The (text, expected) parameters of these tests of test_sqlite_filters."""
    cases: list[tuple[str, set[str]]] = []
    for name in names:
        test: Callable[..., Any] = getattr(reference, name)
        for mark in getattr(test, "pytestmark", []):
            if mark.name == "parametrize" and mark.args[0] == ("text", "expected"):
                cases.extend(mark.args[1])
    assert cases
    return cases


Q_EXAMPLES = [
    *_examples(
        "test_values_compare_only_with_their_own_kind",
        "test_unequal_needs_the_attribute_and_no_equal_value",
        "test_sub_attributes_and_instance_members",
        "test_compound_members",
        "test_arrays_and_attribute_types",
        "test_and_or",
    ),
    ("temperature", {"e1", "e2", "e3"}),
    ("!temperature", {"e4"}),
    ("nothing", set()),
    ("!nothing", {"e1", "e2", "e3", "e4"}),
    ('temperature~="^h"', {"e3"}),
    ('status~="2"', {"e1"}),
    ("tags~=^gr", {"e2"}),
    ('tags~="e"', {"e1", "e2"}),
    ('temperature!~="x"', {"e3"}),
    ('temperature!~="^h"', set()),
    ('tags!~="^r"', {"e2"}),
]


@pytest.mark.parametrize(("text", "expected"), Q_EXAMPLES)
def test_q_as_in_sqlite(pg: PostgresStore, text: str, expected: set[str]) -> None:
    assert found(pg, EntityQuery(q=expand_q(parse_q(text), iri))) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("category==Male", {"e2"}),
        ('category=="Female"', {"e3"}),
        (f'category=="{iri("Male")}"', {"e2"}),
        ("category==Other,Male", {"e2", "e3"}),
        ("category!=Male", {"e3"}),
    ],
)
def test_vocab_terms_and_quoted_names(pg: PostgresStore, text: str, expected: set[str]) -> None:
    assert found(pg, EntityQuery(q=expand_q(parse_q(text), iri))) == expected


@pytest.mark.parametrize(("text", "expected"), _examples("test_scope_q"))
def test_scope_q_as_in_sqlite(pg: PostgresStore, text: str, expected: set[str]) -> None:
    assert found(pg, EntityQuery(scope_q=parse_scope_q(text))) == expected


@pytest.mark.parametrize(("text", "expected"), _examples("test_types"))
def test_types_as_in_sqlite(pg: PostgresStore, text: str, expected: set[str]) -> None:
    assert found(pg, EntityQuery(types=expand_types(parse_type_expr(text), iri))) == expected


def test_names_are_bound_not_spliced(pg: PostgresStore) -> None:
    quoted = Comparison(AttrPath(iri("o'neil")), "==", 1)
    assert found(pg, EntityQuery(q=quoted)) == {"e4"}


def test_types_are_per_tenant(pg: PostgresStore) -> None:
    query = EntityQuery(types=((iri("Sensor"),),))
    assert found(pg, query, "other") == {"e9"}


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(reference._q_texts)
def test_generated_queries_select_what_sqlite_selects(
    pg: PostgresStore, lite: sqlite3.Connection, text: str
) -> None:
    node = expand_q(parse_q(text), iri)
    assert found(pg, EntityQuery(q=node)) == reference.select(lite, compile_q(node))
