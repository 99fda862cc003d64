"""q, scopeQ and type expressions compiled to SQLite select exactly the right entities."""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from cityos.context.errors import BadRequestData
from cityos.context.query import (
    AttrPath,
    Comparison,
    expand_q,
    expand_types,
    parse_q,
    parse_scope_q,
    parse_type_expr,
)
from cityos.store.sqlite_filters import compile_q, compile_scope, compile_types

SCHEMA = """
CREATE TABLE entities (rowid INTEGER PRIMARY KEY, tenant TEXT NOT NULL, id TEXT NOT NULL,
  created_at TEXT NOT NULL, modified_at TEXT NOT NULL, doc TEXT NOT NULL, UNIQUE (tenant, id));
CREATE TABLE entity_types (tenant TEXT NOT NULL, type TEXT NOT NULL, entity INTEGER NOT NULL,
  PRIMARY KEY (tenant, type, entity)) WITHOUT ROWID;
"""

EX = "https://example.org/"
TENANT = "city"


def iri(name: str) -> str:
    return name if ":" in name else EX + name


def prop(value: Any, **members: Any) -> dict[str, Any]:
    return {"type": "Property", "value": value, **members}


E1: dict[str, Any] = {
    "types": [iri("Sensor")],
    "scope": ["/Madrid/Gardens/ParqueNorte"],
    "attrs": {
        iri("temperature"): [
            prop(
                21.5,
                observedAt="2024-01-01T10:00:00Z",
                unitCode="CEL",
                **{iri("accuracy"): prop(0.5, **{iri("calibrated"): prop(True)})},
            )
        ],
        iri("status"): [prop("20")],
        iri("address"): [prop({"city": "Berlin", "floors": 5, "geo": {"zip": "10115"}})],
        iri("tags"): [prop(["red", "blue"])],
        iri("label"): [{"type": "LanguageProperty", "languageMap": {"en": "red", "fr": "rouge"}}],
        iri("owner"): [{"type": "Relationship", "object": "urn:owner:1"}],
    },
}
E2: dict[str, Any] = {
    "types": [iri("Sensor"), iri("Device")],
    "scope": ["/Madrid/Sights/ParqueNorte", "/CompanyA"],
    "attrs": {
        iri("temperature"): [
            prop(18, datasetId="urn:ds:a"),
            prop(30, datasetId="urn:ds:b", observedAt="2024-02-01T00:00:00Z"),
        ],
        iri("status"): [prop(20)],
        iri("address"): [prop({"city": "Madrid", "floors": 2})],
        iri("tags"): [prop(["green"])],
        iri("label"): [
            {"type": "LanguageProperty", "languageMap": {"en": ["cat", "blue"], "de": "Katze"}}
        ],
        iri("owner"): [
            {"type": "ListRelationship", "objectList": [{"object": "urn:owner:2"}, {"object": "x"}]}
        ],
        iri("category"): [{"type": "VocabProperty", "vocab": iri("Male")}],
    },
}
E3: dict[str, Any] = {
    "types": [iri("Device")],
    "scope": ["/Madrid/Gardens"],
    "attrs": {
        iri("temperature"): [prop("hot")],
        iri("status"): [prop(True)],
        iri("created"): [prop({"@type": "DateTime", "@value": "2023-05-01T00:00:00Z"})],
        iri("data"): [{"type": "JsonProperty", "json": {"value": "Overstay", "n": 3}}],
        iri("levels"): [{"type": "ListProperty", "valueList": [1, 2, 3]}],
        iri("category"): [{"type": "VocabProperty", "vocab": [iri("Female"), iri("Other")]}],
    },
}
E4: dict[str, Any] = {
    "types": [iri("Other")],
    "attrs": {
        iri("owner"): [{"type": "Relationship", "object": "urn:owner:2"}],
        iri("tags"): [prop([["red"]])],
        iri("o'neil"): [prop(1)],
        iri("location"): [
            {"type": "GeoProperty", "value": {"type": "Point", "coordinates": [1, 2]}}
        ],
    },
}
ENTITIES = {"e1": E1, "e2": E2, "e3": E3, "e4": E4}


def _regexp(pattern: str | None, text: object) -> bool:
    return isinstance(text, str) and pattern is not None and re.search(pattern, text) is not None


def _database() -> sqlite3.Connection:
    """The schema of the brief with the entities above, and one more in another tenant."""
    connection = sqlite3.connect(":memory:")
    connection.create_function("REGEXP", 2, _regexp, deterministic=True)
    connection.executescript(SCHEMA)
    for tenant, entities in ((TENANT, ENTITIES), ("other", {"e9": E1})):
        for entity_id, doc in entities.items():
            cursor = connection.execute(
                "INSERT INTO entities (tenant, id, created_at, modified_at, doc) "
                "VALUES (?, ?, '', '', ?)",
                (tenant, entity_id, json.dumps(doc)),
            )
            for entity_type in doc["types"]:
                connection.execute(
                    "INSERT INTO entity_types VALUES (?, ?, ?)",
                    (tenant, entity_type, cursor.lastrowid),
                )
    return connection


@pytest.fixture(scope="module")
def db() -> Iterator[sqlite3.Connection]:
    connection = _database()
    yield connection
    connection.close()


def select(db: sqlite3.Connection, where: tuple[str, list[object]]) -> set[str]:
    sql, params = where
    rows = db.execute(
        f"SELECT e.id FROM entities e WHERE e.tenant = ? AND ({sql}) ORDER BY e.rowid",
        [TENANT, *params],
    ).fetchall()
    return {row[0] for row in rows}


def q(db: sqlite3.Connection, text: str) -> set[str]:
    return select(db, compile_q(expand_q(parse_q(text), iri)))


# -- numbers, strings and booleans --------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("temperature>20", {"e1", "e2"}),
        ("temperature>=30", {"e2"}),
        ("temperature<20", {"e2"}),
        ("temperature<=21.5", {"e1", "e2"}),
        ("temperature==21.5", {"e1"}),
        ("temperature==18", {"e2"}),
        ('temperature=="hot"', {"e3"}),
        ('temperature>"a"', {"e3"}),
        ("status==20", {"e2"}),
        ('status=="20"', {"e1"}),
        ("status==true", {"e3"}),
        ("status==false", set()),
        ("status>10", {"e2"}),
        ('status>"1"', {"e1"}),
        ("temperature==15..25", {"e1", "e2"}),
        ('temperature=="a".."i"', {"e3"}),
        ("temperature==18,30", {"e2"}),
        ('temperature==21.5,"hot"', {"e1", "e3"}),
        ("temperature==1,2,3", set()),
    ],
)
def test_values_compare_only_with_their_own_kind(
    db: sqlite3.Connection, text: str, expected: set[str]
) -> None:
    assert q(db, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        # e2 has two instances; the one with 30 is unequal to 18. "hot" is of another kind.
        ("temperature!=18", {"e1", "e2", "e3"}),
        ("temperature!=21.5", {"e2", "e3"}),
        ("temperature!=18,30", {"e1", "e3"}),
        ("temperature!=15..25", {"e2", "e3"}),
        ('temperature!="hot"', {"e1", "e2"}),
        ("status!=20", {"e1", "e3"}),
        ('tags!="red"', {"e2", "e4"}),
        ('tags!="red","green"', {"e4"}),
    ],
)
def test_unequal_needs_the_attribute_and_no_equal_value(
    db: sqlite3.Connection, text: str, expected: set[str]
) -> None:
    assert q(db, text) == expected


def test_existence(db: sqlite3.Connection) -> None:
    assert q(db, "temperature") == {"e1", "e2", "e3"}
    assert q(db, "!temperature") == {"e4"}
    assert q(db, "nothing") == set()
    assert q(db, "!nothing") == {"e1", "e2", "e3", "e4"}


def test_patterns(db: sqlite3.Connection) -> None:
    assert q(db, 'temperature~="^h"') == {"e3"}
    assert q(db, 'status~="2"') == {"e1"}
    assert q(db, "tags~=^gr") == {"e2"}
    assert q(db, 'tags~="e"') == {"e1", "e2"}
    # Only text is matched or not matched: numbers and booleans match neither.
    assert q(db, 'temperature!~="x"') == {"e3"}
    assert q(db, 'temperature!~="^h"') == set()
    assert q(db, 'tags!~="^r"') == {"e2"}


# -- paths --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("temperature.observedAt>=2024-01-15T00:00:00Z", {"e2"}),
        ("temperature.observedAt<2024-01-15T00:00:00Z", {"e1"}),
        ("temperature.observedAt", {"e1", "e2"}),
        ('temperature.unitCode=="CEL"', {"e1"}),
        ('temperature.datasetId=="urn:ds:b"', {"e2"}),
        ("temperature.datasetId==urn:ds:a", {"e2"}),
        ("temperature.datasetId", {"e2"}),
        ('temperature.datasetId!="urn:ds:a"', {"e2"}),
        ("temperature.accuracy<1", {"e1"}),
        ("temperature.accuracy", {"e1"}),
        ("temperature.accuracy.calibrated==true", {"e1"}),
        ("temperature.accuracy.calibrated==false", set()),
        ("temperature.nothing", set()),
        ("!temperature.accuracy", {"e2", "e3", "e4"}),
    ],
)
def test_sub_attributes_and_instance_members(
    db: sqlite3.Connection, text: str, expected: set[str]
) -> None:
    assert q(db, text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('address[city]=="Berlin"', {"e1"}),
        ('address[city]!="Berlin"', {"e2"}),
        ('address[geo.zip]=="10115"', {"e1"}),
        ("address[floors]>=2", {"e1", "e2"}),
        ("address[floors]>4", {"e1"}),
        ("address[city]", {"e1", "e2"}),
        ("address[geo.zip]", {"e1"}),
        ("address[nothing]", set()),
        ('address=="Berlin"', set()),
        ('data[value]=="Overstay"', {"e3"}),
        ("data[n]==3", {"e3"}),
    ],
)
def test_compound_members(db: sqlite3.Connection, text: str, expected: set[str]) -> None:
    assert q(db, text) == expected


# -- arrays and attribute types -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ('tags=="red"', {"e1"}),  # e4's [["red"]] holds an array, not "red"
        ('tags=="red","green"', {"e1", "e2"}),
        ("levels==2", {"e3"}),
        ("levels>2", {"e3"}),
        ("levels<1", set()),
        ("levels==2..2", {"e3"}),
        ('label=="rouge"', {"e1"}),
        ('label=="blue"', {"e2"}),
        ('label[en]=="red"', {"e1"}),
        ('label[fr]=="red"', set()),
        ('label[en]=="cat"', {"e2"}),
        ('label[*]=="Katze"', {"e2"}),
        ('label~="^ca"', {"e2"}),
        ('label!="red"', {"e2"}),
        ('owner=="urn:owner:1"', {"e1"}),
        ("owner==urn:owner:2", {"e2", "e4"}),
        ('owner!="urn:owner:2"', {"e1"}),
        ('owner>"urn:a"', set()),
        ('owner~="owner"', set()),
        ('owner!~="zzz"', set()),
        ("created>=2023-01-01T00:00:00Z", {"e3"}),
        ('created=="2023-05-01T00:00:00Z"', {"e3"}),
        ('location=="Point"', set()),
        ("location", {"e4"}),
    ],
)
def test_arrays_and_attribute_types(db: sqlite3.Connection, text: str, expected: set[str]) -> None:
    assert q(db, text) == expected


def test_vocab_properties_compare_with_expanded_terms(db: sqlite3.Connection) -> None:
    assert q(db, "category==Male") == {"e2"}
    assert q(db, 'category=="Female"') == {"e3"}
    assert q(db, f'category=="{EX}Male"') == {"e2"}
    assert q(db, "category==Other,Male") == {"e2", "e3"}
    assert q(db, "category!=Male") == {"e3"}


def test_names_are_bound_not_spliced(db: sqlite3.Connection) -> None:
    quoted = AttrPath(iri("o'neil"))
    assert select(db, compile_q(Comparison(quoted, "==", 1))) == {"e4"}
    assert select(db, compile_q(Comparison(quoted))) == {"e4"}
    assert select(db, compile_q(Comparison(quoted, "==", "1' OR 1=1 --"))) == set()
    with pytest.raises(BadRequestData, match="cannot be queried"):
        compile_q(Comparison(AttrPath('bad"name'), "==", 1))


# -- logic --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("temperature>20;status==20", {"e2"}),
        ("temperature>25|status==true", {"e2", "e3"}),
        ('(temperature>20|status==true);address[city]=="Berlin"', {"e1"}),
        ('temperature>20;status==20|owner=="urn:owner:1"', {"e1", "e2"}),
        ('temperature>20;(status==20|owner=="urn:owner:1")', {"e1", "e2"}),
        ("!temperature|levels==3", {"e3", "e4"}),
    ],
)
def test_and_or(db: sqlite3.Connection, text: str, expected: set[str]) -> None:
    assert q(db, text) == expected


# -- scopes and types ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("/Madrid/Gardens", {"e3"}),
        ("/Madrid", set()),
        ("/Madrid/#", {"e1", "e2", "e3"}),
        ("/Madrid/Gardens/#", {"e1", "e3"}),
        ("/Madri/#", set()),
        ("/Madrid/+", {"e3"}),
        ("/Madrid/+/ParqueNorte", {"e1", "e2"}),
        ("/+/Gardens", {"e3"}),
        ("/Madrid/+/#", {"e1", "e2", "e3"}),
        ("/+", {"e2"}),
        ("/#", {"e1", "e2", "e3"}),
        ("(/Madrid/Sights/#;/CompanyA)", {"e2"}),
        ("(/Madrid/Gardens/#;/CompanyA)", set()),
        ("/CompanyA,/Madrid/Gardens", {"e2", "e3"}),
        ("/CompanyA|(/Madrid/Gardens;/Madrid/+)", {"e2", "e3"}),
    ],
)
def test_scope_q(db: sqlite3.Connection, text: str, expected: set[str]) -> None:
    assert select(db, compile_scope(parse_scope_q(text))) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Sensor", {"e1", "e2"}),
        ("Sensor;Device", {"e2"}),
        ("Device,Other", {"e2", "e3", "e4"}),
        ("(Sensor;Device)|Other", {"e2", "e4"}),
        ("Sensor;Other", set()),
        ("Nothing", set()),
    ],
)
def test_types(db: sqlite3.Connection, text: str, expected: set[str]) -> None:
    assert select(db, compile_types(expand_types(parse_type_expr(text), iri), TENANT)) == expected


def test_types_are_per_tenant(db: sqlite3.Connection) -> None:
    sql, params = compile_types(((iri("Sensor"),),), "other")
    rows = db.execute(f"SELECT e.id FROM entities e WHERE {sql}", params).fetchall()
    assert rows == [("e9",)]


# -- every query compiles to valid SQL ----------------------------------------------------------

_attrs = st.sampled_from(["temperature", "status", "address", "tags", "label", "owner", "zzz"])
_path_texts = st.one_of(
    _attrs,
    st.builds("{}.{}".format, _attrs, st.sampled_from(["observedAt", "datasetId", "accuracy"])),
    st.builds("{}[{}]".format, _attrs, st.sampled_from(["city", "geo.zip", "*", "en"])),
)
_value_texts = st.sampled_from(['"x"', "20", "1.5", "true", "1..30", '"a","b"', "urn:owner:1"])
_term_texts = st.one_of(
    _path_texts,
    st.builds("!{}".format, _path_texts),
    st.builds("{}{}{}".format, _path_texts, st.sampled_from(["==", "!="]), _value_texts),
    st.builds(
        "{}{}{}".format,
        _path_texts,
        st.sampled_from([">", "<=", ">="]),
        st.sampled_from(["1", '"a"']),
    ),
    st.builds("{}{}{}".format, _path_texts, st.sampled_from(["~=", "!~="]), st.just('"^r"')),
)
_q_texts = st.recursive(
    _term_texts,
    lambda inner: st.builds("({}{}{})".format, inner, st.sampled_from([";", "|"]), inner),
    max_leaves=6,
)


@settings(max_examples=60, deadline=None)
@given(_q_texts)
def test_generated_queries_run(text: str) -> None:
    connection = _database()
    node = expand_q(parse_q(text), iri)
    matched = select(connection, compile_q(node))
    negated_sql, params = compile_q(node)
    unmatched = select(connection, (f"NOT ({negated_sql})", params))
    assert matched | unmatched == set(ENTITIES)
    assert not matched & unmatched
    connection.close()
