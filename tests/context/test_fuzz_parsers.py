"""Fuzzing the parsers that read what clients send: the q and scopeQ languages and `type`
expressions, geo-queries and GeoJSON GeoProperty values, and @context resolution with
JSON-LD expansion and compaction of whole entities.

The property is the same for each: any input is either read, or refused with a client
error of the broker's own (an NgsiError with a 4xx status, which the API answers as
ProblemDetails). Anything else (a TypeError, a RecursionError, a 500) is a bug. Inputs are
bounded in size, so every example ends; the runs are derandomized (the same examples on
every machine) with EXAMPLES examples each (docs/security.md, "Fuzzing the parsers").
"""

from __future__ import annotations

import string
from collections.abc import Callable
from typing import Any, TypeVar

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cityos.context.errors import LdContextNotAvailable, NgsiError
from cityos.context.geo import GeoMatcher, parse_geo_query, validate_geometry
from cityos.context.jsonld import CORE_CONTEXT_URL, ContextResolver
from cityos.context.normalize import parse_entity, parse_instances
from cityos.context.query import (
    expand_q,
    expand_types,
    parse_q,
    parse_scope_q,
    parse_type_expr,
)
from cityos.context.render import CONCISE, KEY_VALUES, NORMALIZED, View, render_entity

EXAMPLES = 300
fuzz = settings(
    max_examples=EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.filter_too_much],
)

T = TypeVar("T")


def read_or_refuse(parse: Callable[..., T], *args: Any, **kwargs: Any) -> T | None:
    """`parse(...)`, or None when it refused with a client error; any other error fails."""
    try:
        return parse(*args, **kwargs)
    except NgsiError as error:
        assert 400 <= error.status < 500, f"{type(error).__name__} ({error.status}): {error}"
        return None


def grammar_text(tokens: list[str], max_tokens: int = 40) -> st.SearchStrategy[str]:
    """Texts made of the grammar's own tokens, mixed with any characters: deep enough to
    reach the parser's inner rules, wild enough to hit its edges."""
    piece = st.sampled_from(tokens) | st.text(max_size=4)
    return st.lists(piece, max_size=max_tokens).map("".join)


# -- q, scopeQ, type -----------------------------------------------------------------------

Q_TOKENS = [
    *("speed", "brand", "a.b", "a[b.c]", "name[*]", "observedAt", "x", "é", "@id"),
    *("==", "!=", ">=", "<=", ">", "<", "~=", "!~=", ";", "|", "(", ")", ",", ".."),
    *("1", "-2.5", "1e9", "1e999", "true", "false", "null", '"', '"txt"', "'", "\\"),
    *("2026-01-01T00:00:00Z", "12:00:00Z", "2026-01-01", "urn:ngsi-ld:X:1", "(?i)a.*", " "),
]
SCOPE_TOKENS = ["/", "/a", "/a/b", "/#", "/+", "#", "+", ";", ",", "|", "(", ")", "a", " "]
TYPE_TOKENS = ["Vehicle", "A", "B", "ex:T", "https://x.org/T", ",", "|", ";", "(", ")", " "]


@fuzz
@given(grammar_text(Q_TOKENS))
def test_q_is_parsed_or_refused(text: str) -> None:
    node = read_or_refuse(parse_q, text)
    if node is not None:
        expand_q(node, lambda name: f"https://example.org/{name}")


@fuzz
@given(grammar_text(SCOPE_TOKENS))
def test_scope_q_is_parsed_or_refused(text: str) -> None:
    read_or_refuse(parse_scope_q, text)


@fuzz
@given(grammar_text(TYPE_TOKENS))
def test_type_expression_is_parsed_or_refused(text: str) -> None:
    expression = read_or_refuse(parse_type_expr, text)
    if expression is not None:
        expand_types(expression, lambda name: f"https://example.org/{name}")


def test_deep_nesting_is_refused_not_a_recursion_error() -> None:
    assert read_or_refuse(parse_q, "(" * 5000 + "a==1" + ")" * 5000) is None
    assert read_or_refuse(parse_scope_q, "(" * 5000 + "/a" + ")" * 5000) is None
    assert read_or_refuse(parse_type_expr, "(" * 5000 + "A" + ")" * 5000) is None


# -- geometry --------------------------------------------------------------------------------

GEOMETRY_TYPES = [
    "Point",
    "LineString",
    "Polygon",
    "MultiPoint",
    "MultiLineString",
    "MultiPolygon",
    "GeometryCollection",
    "point",
]
numbers = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(min_value=-(10**20), max_value=10**20),
    st.sampled_from([0, 180, -180, 90, -90, 180.0000001, 1e308]),
)
coordinates = st.recursive(
    st.lists(numbers, max_size=4),
    lambda inner: st.lists(inner, max_size=5),
    max_leaves=20,
)
json_scalars = st.none() | st.booleans() | numbers | st.text(max_size=8)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4)
    ),
    max_leaves=12,
)
GEORELS = [
    "near;maxDistance==2000",
    "near;minDistance==1",
    "near;maxDistance==0",
    "near;maxDistance==1e400",
    "near",
    "within",
    "contains",
    "intersects",
    "equals",
    "disjoint",
    "overlaps",
    "within;x==1",
]
geometries = st.fixed_dictionaries(
    {"type": st.sampled_from(GEOMETRY_TYPES), "coordinates": coordinates}
)
georels = st.sampled_from(GEORELS) | grammar_text(["near", ";", "maxDistance", "==", "1", "."])


@fuzz
@given(
    st.none() | georels,
    st.none() | st.sampled_from(GEOMETRY_TYPES) | st.text(max_size=10),
    st.none() | coordinates.map(str) | coordinates | st.text(max_size=20),
)
def test_geo_query_is_parsed_or_refused(georel: Any, geometry: Any, coords: Any) -> None:
    query = read_or_refuse(parse_geo_query, georel, geometry, coords, "https://x.org/location")
    if query is not None:
        GeoMatcher(query)  # the matcher accepts whatever the parser let through


@fuzz
@given(
    geometries
    | st.fixed_dictionaries(
        {"type": st.sampled_from(GEOMETRY_TYPES) | json_values},
        optional={"coordinates": coordinates | json_values, "bbox": json_values},
    )
    | json_values
)
def test_geoproperty_value_is_read_or_refused(value: Any) -> None:
    geometry = read_or_refuse(validate_geometry, value)
    if geometry is not None:
        query = parse_geo_query("intersects", geometry["type"], geometry["coordinates"], "l")
        assert query is not None
        GeoMatcher(query)


# -- JSON-LD ---------------------------------------------------------------------------------

REGISTERED = "https://example.org/registered.jsonld"
REGISTERED_DOCUMENT = {"@context": {"speed": "https://example.org/speed", "ex": "https://x.org/"}}


def stored_contexts(url: str) -> dict[str, Any] | None:
    """The broker's own context store, without the network: one registered context."""
    return REGISTERED_DOCUMENT if url == REGISTERED else None


terms_names = st.sampled_from(["speed", "ex:a", "@id", "@vocab", "@type", "type", "", "a:b"])
term_definitions = st.dictionaries(
    terms_names | st.text(max_size=6),
    st.none()
    | st.text(max_size=20)
    | st.sampled_from(["https://x.org/", "ex:b", "@id", "speed"])
    | st.fixed_dictionaries({}, optional={"@id": json_scalars, "@type": json_scalars})
    | json_values,
    max_size=5,
)
context_urls = st.sampled_from([CORE_CONTEXT_URL, REGISTERED, "https://unknown.example/c", ""])
context_items = context_urls | term_definitions | st.text(max_size=10) | json_scalars
contexts = context_items | st.lists(context_items | json_values, max_size=4) | json_values


@fuzz
@given(contexts, st.lists(st.text(max_size=12) | terms_names, max_size=5))
def test_context_is_resolved_or_refused_and_terms_round_trip(
    context: Any, names: list[str]
) -> None:
    try:
        terms = ContextResolver(stored_contexts).resolve(context)
    except LdContextNotAvailable:
        return  # a URL this broker does not keep: 504, as NGSI-LD has it
    except NgsiError as error:
        assert 400 <= error.status < 500, f"{type(error).__name__}: {error}"
        return
    for name in names:
        iri = terms.expand(name)
        assert isinstance(iri, str)
        assert isinstance(terms.compact(iri), str)


ATTRIBUTE_TYPES = [
    *("Property", "Relationship", "GeoProperty", "LanguageProperty", "VocabProperty"),
    *("ListProperty", "ListRelationship", "JsonProperty", "Point"),
]
entity_ids = st.sampled_from(["urn:ngsi-ld:Vehicle:1", "x", "", "urn:a b", "http://x.org/e"])
attribute = st.fixed_dictionaries(
    {},
    optional={
        "type": st.sampled_from(ATTRIBUTE_TYPES) | json_values,
        "value": json_values | geometries,
        "object": json_values | entity_ids,
        "languageMap": json_values,
        "vocab": json_values,
        "valueList": json_values,
        "objectList": json_values,
        "json": json_values,
        "coordinates": coordinates,
        "observedAt": st.sampled_from(["2026-01-01T00:00:00Z", "yesterday"]) | json_scalars,
        "unitCode": json_scalars,
        "datasetId": entity_ids | json_scalars,
        "sub": json_values,
    },
)


@fuzz
@given(attribute | st.lists(attribute, max_size=3) | json_values)
def test_attribute_is_read_or_refused(raw: Any) -> None:
    terms = ContextResolver().core
    instances = read_or_refuse(parse_instances, "speed", terms.expand("speed"), raw, terms, "now")
    if instances is not None:
        assert instances and all(isinstance(instance["type"], str) for instance in instances)


valid_ids = st.sampled_from(["urn:ngsi-ld:Vehicle:1", "http://x.org/e"])
entities = st.fixed_dictionaries(
    {},
    optional={
        "id": valid_ids | entity_ids | json_scalars,
        "type": st.sampled_from(["Vehicle", "ex:T", ""]) | json_values,
        "scope": st.sampled_from(["/a", "/a/b", "a"]) | json_values,
        "@context": contexts,
    },
).flatmap(
    lambda base: st.dictionaries(
        terms_names | st.text(max_size=8), attribute | json_values, max_size=4
    ).map(lambda attrs: {**attrs, **base})
)


@fuzz
@given(entities, contexts, st.booleans())
def test_entity_is_expanded_or_refused_and_compacts_back(
    body: Any, context: Any, partial: bool
) -> None:
    resolver = ContextResolver(stored_contexts)
    try:
        terms = resolver.resolve(context)
    except NgsiError:
        terms = resolver.core
    entity = read_or_refuse(parse_entity, body, terms, "2026-01-01T00:00:00Z", partial=partial)
    if entity is not None:
        for fmt in (NORMALIZED, CONCISE, KEY_VALUES):
            rendered = render_entity(entity, terms, View(format=fmt, sys_attrs=True))
            assert rendered["id"] == entity.id


def test_alphabet_of_the_generated_names_reaches_the_name_rules() -> None:
    """The fuzzed names include characters NGSI-LD refuses in names (`=`, `;`, `(`…):
    refused with BadRequestData, never accepted into an entity."""
    refused = [c for c in string.punctuation if c in "<>\"'=;()[]{}|,\\"]
    for char in refused:
        body = {"id": "urn:ngsi-ld:X:1", "type": "X", f"a{char}b": 1}
        assert read_or_refuse(parse_entity, body, ContextResolver().core, "now") is None
