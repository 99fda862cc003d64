"""Parsing q (ETSI GS CIM 009, 4.9), scopeQ (4.19) and `type` expressions."""

from __future__ import annotations

import contextlib
import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from cityos.context.errors import BadRequestData, TooComplexQuery
from cityos.context.query import (
    MAX_DEPTH_CEILING,
    And,
    AttrPath,
    Comparison,
    Literal,
    Or,
    QNode,
    QueryLimits,
    Range,
    expand_q,
    expand_types,
    parse_csv_names,
    parse_q,
    parse_scope_q,
    parse_type_expr,
)


def term(name: str, op: str | None = None, value: object = None, **path: tuple[str, ...]) -> QNode:
    return Comparison(AttrPath(name, **path), op, value)  # type: ignore[arg-type]


# -- terms and values -------------------------------------------------------------------------


@pytest.mark.parametrize("op", ["==", "!=", ">", ">=", "<", "<="])
def test_every_comparison_operator(op: str) -> None:
    assert parse_q(f"speed{op}50") == term("speed", op, 50)


def test_existence_and_absence() -> None:
    assert parse_q("isMonitoredBy") == term("isMonitoredBy")
    assert parse_q("!isMonitoredBy") == term("isMonitoredBy", "!")


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("a==20", 20),
        ("a==-3", -3),
        ("a==0", 0),
        ("a==20.5", 20.5),
        ("a==1e3", 1000.0),
        ("a==-2.5E-2", -0.025),
        ('a=="20"', "20"),
        ("a==true", True),
        ("a==false", False),
        ('a=="true"', "true"),
        ("a==2018-12-04T12:00:00Z", "2018-12-04T12:00:00Z"),
        ("a==2018-12-04", "2018-12-04"),
        ("a==12:00:00", "12:00:00"),
        ("a==urn:ngsi-ld:OffStreetParking:Downtown1", "urn:ngsi-ld:OffStreetParking:Downtown1"),
        ('a=="urn:ngsi-ld:OffStreetParking:Downtown1"', "urn:ngsi-ld:OffStreetParking:Downtown1"),
        ("a==http://example.org/red?x=1", "http://example.org/red?x=1"),
        ('a==""', ""),
    ],
)
def test_value_kinds(text: str, value: Literal) -> None:
    parsed = parse_q(text)
    assert isinstance(parsed, Comparison)
    assert parsed.value == value
    assert type(parsed.value) is type(value)


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ('a=="x;y"', "x;y"),
        ('a=="x|y"', "x|y"),
        ('a=="(x)"', "(x)"),
        ('a=="a,b"', "a,b"),
        ('a=="1..2"', "1..2"),
        ('a=="say \\"hi\\""', 'say "hi"'),
        ('a=="back\\\\slash"', "back\\slash"),
        ('a=="caf\\u00e9"', "café"),
        ('a=="Chongqing 重庆"', "Chongqing 重庆"),
        ('a=="==!=<>~="', "==!=<>~="),
    ],
)
def test_quoted_strings_keep_special_characters(text: str, value: str) -> None:
    assert parse_q(text) == term("a", "==", value)


def test_quoted_string_then_more_terms() -> None:
    assert parse_q('a=="x;y";b=="(|)"|c') == Or(
        (And((term("a", "==", "x;y"), term("b", "==", "(|)"))), term("c"))
    )


def test_value_lists() -> None:
    assert parse_q("a==1,2,3") == term("a", "==", (1, 2, 3))
    assert parse_q('color=="black","red"') == term("color", "==", ("black", "red"))
    assert parse_q('a!="x,y",2,true') == term("a", "!=", ("x,y", 2, True))
    assert parse_q("rel==urn:a:1,urn:a:2") == term("rel", "==", ("urn:a:1", "urn:a:2"))


def test_ranges() -> None:
    assert parse_q("temperature==10..20") == term("temperature", "==", Range(10, 20))
    assert parse_q("a!=-1.5..2") == term("a", "!=", Range(-1.5, 2))
    assert parse_q('a=="a".."c"') == term("a", "==", Range("a", "c"))
    assert parse_q("t==2018-01-01T00:00:00Z..2018-12-31T23:59:59Z") == term(
        "t", "==", Range("2018-01-01T00:00:00Z", "2018-12-31T23:59:59Z")
    )
    assert parse_q("d==2018-01-01..2018-02-01;x") == And(
        (term("d", "==", Range("2018-01-01", "2018-02-01")), term("x"))
    )


def test_patterns() -> None:
    assert parse_q('name~="^sha.*"') == term("name", "~=", "^sha.*")
    assert parse_q("name!~=^sha") == term("name", "!~=", "^sha")
    assert parse_q('name~="a|b";x') == And((term("name", "~=", "a|b"), term("x")))
    assert parse_q("name~=(a|b);x") == And((term("name", "~=", "(a|b)"), term("x")))
    assert parse_q("(name~=a(b|c))|x") == Or((term("name", "~=", "a(b|c)"), term("x")))
    assert parse_q("name~=[;|)]x") == term("name", "~=", "[;|)]x")
    assert parse_q("name~=a\\|b") == term("name", "~=", "a\\|b")
    assert parse_q('name~="say \\"x\\" \\d+"') == term("name", "~=", 'say "x" \\d+')
    assert parse_q("name~=.*a.*|y") == Or((term("name", "~=", ".*a.*"), term("y")))


# -- paths --------------------------------------------------------------------------------------


def test_attribute_paths() -> None:
    assert parse_q("a.b.c==1") == term("a", "==", 1, sub=("b", "c"))
    assert parse_q('address[city]=="Berlin"') == term("address", "==", "Berlin", compound=("city",))
    assert parse_q("sensor.rawdata[airquality.particulate]==40") == term(
        "sensor", "==", 40, sub=("rawdata",), compound=("airquality", "particulate")
    )
    assert parse_q("temperature.observedAt>=2017-12-24T12:00:00Z") == term(
        "temperature", ">=", "2017-12-24T12:00:00Z", sub=("observedAt",)
    )
    assert parse_q('color[*]=="red"') == term("color", "==", "red", compound=("*",))
    assert parse_q("ex:speed>3") == term("ex:speed", ">", 3)
    assert parse_q("a.datasetId") == term("a", sub=("datasetId",))
    assert parse_q("a[b]") == term("a", compound=("b",))


# -- logic --------------------------------------------------------------------------------------


def test_and_binds_tighter_than_or() -> None:
    a, b, c, d = (term(n) for n in "abcd")
    assert parse_q("a;b|c;d") == Or((And((a, b)), And((c, d))))
    assert parse_q("a|b;c") == Or((a, And((b, c))))
    assert parse_q("a|b|c") == Or((a, b, c))
    assert parse_q("a;b;c") == And((a, b, c))


def test_parentheses() -> None:
    assert parse_q('((speed>50|rpm>3000);brandName=="Mercedes")') == And(
        (
            Or((term("speed", ">", 50), term("rpm", ">", 3000))),
            term("brandName", "==", "Mercedes"),
        )
    )
    assert parse_q("(temperature>=20;temperature<=25)|capacity<=10") == Or(
        (
            And((term("temperature", ">=", 20), term("temperature", "<=", 25))),
            term("capacity", "<=", 10),
        )
    )
    assert parse_q("(a)") == term("a")
    assert parse_q("((a))") == term("a")
    assert parse_q("a;(b|c)") == And((term("a"), Or((term("b"), term("c")))))


def test_white_space_between_tokens_is_ignored() -> None:
    assert parse_q(' a > 5 ; ( b == "x y" | c ) ') == And(
        (term("a", ">", 5), Or((term("b", "==", "x y"), term("c"))))
    )


# -- errors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("", "empty"),
        ("   ", "empty"),
        ("a==", "position 3"),
        ("pm25>>3", "'>3'"),
        ("a===1", "'=1'"),
        ("a=>1", "position 1"),
        ("==1", "position 0"),
        ("a b", "'b'"),
        ("(a", "the end"),
        ("a)", "')'"),
        ("()", "position 1"),
        ("a;", "the end"),
        ("|a", "position 0"),
        ("a;;b", "position 2"),
        ('a=="x', "not closed"),
        ('a=="\\x"', "JSON string"),
        ("a>true", "'true'"),
        ("a>red", "quote text"),
        ("a>1,2", "list"),
        ("a>1..2", "range"),
        ("a==1..b", "range"),
        ('a==1.."b"', "one kind"),
        ("a==1,", "expected a value"),
        ("a.==1", "sub-attribute"),
        ("a[]==1", "member"),
        ("a[b==1", "']'"),
        ("a.observedAt.b==1", "observedAt"),
        ("a.unitCode[b]", "unitCode"),
        ("a{b}==1", "linked-entity"),
        ("!a==1", "negates"),
        ("a~=", "regular expression"),
        ("a~=(", "regular expression"),
        ('a~="["', "regular expression"),
        ("a=='x'", "value"),
    ],
)
def test_errors_say_where(text: str, where: str) -> None:
    with pytest.raises(BadRequestData) as caught:
        parse_q(text)
    assert where in caught.value.detail
    assert "position" in caught.value.detail


def test_deep_nesting_is_too_complex() -> None:
    with pytest.raises(TooComplexQuery, match="--max-query-depth"):
        parse_q("(" * 1000 + "a" + ")" * 1000)
    assert parse_q("(" * 20 + "a" + ")" * 20) == term("a")


def test_query_limits_are_the_callers() -> None:
    limits = QueryLimits(max_length=12, max_depth=2)
    assert parse_q("((a));b==123", limits) == And((term("a"), term("b", "==", 123)))
    with pytest.raises(TooComplexQuery, match=r"13 characters long.*--max-query-length"):
        parse_q("((a));b==1234", limits)
    with pytest.raises(TooComplexQuery, match="more than 2 deep"):
        parse_q("(((a)))", limits)
    assert parse_scope_q("(/a;/b)|/c", limits) == (("/a", "/b"), ("/c",))
    with pytest.raises(TooComplexQuery):
        parse_scope_q("((/a;/b))|/c", QueryLimits(max_depth=1))
    with pytest.raises(ValueError):
        QueryLimits(max_depth=MAX_DEPTH_CEILING + 1)


# -- expansion ----------------------------------------------------------------------------------


def _expand(name: str) -> str:
    return name if ":" in name else f"https://example.org/{name}"


def test_expand_q_expands_names_but_not_members() -> None:
    node = parse_q("a.b.observedAt>2020-01-01T00:00:00Z;c[x.y]==1|d.datasetId==urn:x")
    assert expand_q(node, _expand) == Or(
        (
            And(
                (
                    term(
                        "https://example.org/a",
                        ">",
                        "2020-01-01T00:00:00Z",
                        sub=("https://example.org/b", "observedAt"),
                    ),
                    term("https://example.org/c", "==", 1, compound=("x", "y")),
                )
            ),
            term("https://example.org/d", "==", "urn:x", sub=("datasetId",)),
        )
    )


def test_expand_q_records_vocabulary_values_for_equality() -> None:
    single = expand_q(parse_q("category==Male"), _expand)
    assert isinstance(single, Comparison)
    assert single.value == "Male"
    assert single.vocab_value == "https://example.org/Male"
    listed = expand_q(parse_q('category!="Male",ex:Female,3'), _expand)
    assert isinstance(listed, Comparison)
    assert listed.vocab_value == ("https://example.org/Male", "ex:Female", 3)
    ordered = expand_q(parse_q('category>"Male"'), _expand)
    assert isinstance(ordered, Comparison)
    assert ordered.vocab_value is None


# -- type and scopeQ ----------------------------------------------------------------------------


def test_type_expressions() -> None:
    assert parse_type_expr("Building") == (("Building",),)
    assert parse_type_expr("A,B") == (("A",), ("B",))
    assert parse_type_expr("A|B") == (("A",), ("B",))
    assert parse_type_expr("A;B") == (("A", "B"),)
    assert parse_type_expr("(A;B)|C") == (("A", "B"), ("C",))
    assert parse_type_expr("A;(B|C)") == (("A", "B"), ("A", "C"))
    assert parse_type_expr("(A|B);(C|D)") == (("A", "C"), ("A", "D"), ("B", "C"), ("B", "D"))
    assert parse_type_expr("A,A;A") == (("A",),)
    assert parse_type_expr("https://uri.etsi.org/x#T,ex:T") == (
        ("https://uri.etsi.org/x#T",),
        ("ex:T",),
    )
    assert expand_types(parse_type_expr("(A;B)|ex:C"), _expand) == (
        ("https://example.org/A", "https://example.org/B"),
        ("ex:C",),
    )


@pytest.mark.parametrize("text", ["", "A,", ",A", "(A", "A)", "A;;B", "()", "A B", 'A"'])
def test_bad_type_expressions(text: str) -> None:
    with pytest.raises(BadRequestData, match="position"):
        parse_type_expr(text)


def test_type_expression_blowup_is_refused() -> None:
    with pytest.raises(TooComplexQuery):
        parse_type_expr(";".join(f"(A{i}|B{i})" for i in range(12)))


def test_scope_queries() -> None:
    assert parse_scope_q("/Madrid") == (("/Madrid",),)
    assert parse_scope_q("/Madrid/Gardens/#") == (("/Madrid/Gardens/#",),)
    assert parse_scope_q("/Madrid/+/ParqueNorte") == (("/Madrid/+/ParqueNorte",),)
    assert parse_scope_q("/#") == (("/#",),)
    assert parse_scope_q("/a/+") == (("/a/+",),)
    assert parse_scope_q("(/Madrid/Districts;/CompanyA)|/CompanyB") == (
        ("/Madrid/Districts", "/CompanyA"),
        ("/CompanyB",),
    )
    assert parse_scope_q("(/Madrid/Districts;/CompanyA),/CompanyB") == (
        ("/Madrid/Districts", "/CompanyA"),
        ("/CompanyB",),
    )
    assert parse_scope_q("/a_1/b-2") == (("/a_1/b-2",),)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "Madrid",
        "/",
        "/a/",
        "//a",
        "/a//b",
        "/a/#/b",
        "/a#",
        "/a/ b",
        "/a b",
        "(/a",
        "/a;",
        "/+x",
    ],
)
def test_bad_scope_queries(text: str) -> None:
    with pytest.raises(BadRequestData, match="position"):
        parse_scope_q(text)


def test_csv_names() -> None:
    assert parse_csv_names("a,b, c,a") == ["a", "b", "c"]
    assert parse_csv_names("ex:a") == ["ex:a"]
    with pytest.raises(BadRequestData, match="position 2"):
        parse_csv_names("a,,b")
    with pytest.raises(BadRequestData):
        parse_csv_names("a;b")


# -- properties ---------------------------------------------------------------------------------

_names = st.text(alphabet="abcxyzAB_09é", min_size=1, max_size=6).filter(lambda s: s[0].isalpha())
_strings = st.text(max_size=8)
_numbers = st.integers(-(10**12), 10**12) | st.floats(allow_nan=False, allow_infinity=False)
_scalars: st.SearchStrategy[Literal] = _strings | _numbers | st.booleans()


@st.composite
def _paths(draw: st.DrawFn) -> AttrPath:
    sub = tuple(draw(st.lists(_names, max_size=2)))
    if draw(st.booleans()):
        return AttrPath(draw(_names), sub, tuple(draw(st.lists(_names, max_size=2))))
    return AttrPath(draw(_names), (*sub, draw(st.sampled_from(["observedAt", "datasetId"]))))


_patterns = st.sampled_from(["^a", "a|b", "(x|y)z", "[;|)]", "\\d+", 'say "hi"', "é.*"])


@st.composite
def _comparisons(draw: st.DrawFn) -> Comparison:
    path = draw(_paths())
    op = draw(st.sampled_from([None, "!", "==", "!=", ">", ">=", "<", "<=", "~=", "!~="]))
    if op in (None, "!"):
        return Comparison(path, op)
    if op in ("~=", "!~="):
        return Comparison(path, op, draw(_patterns))
    if op in ("==", "!="):
        value = draw(
            _scalars
            | st.lists(_scalars, min_size=2, max_size=3).map(tuple)
            | st.builds(Range, _numbers, _numbers)
            | st.builds(Range, _strings, _strings)
        )
        return Comparison(path, op, value)
    return Comparison(path, op, draw(_strings | _numbers))


_trees: st.SearchStrategy[QNode] = st.recursive(
    _comparisons(),
    lambda children: (
        st.builds(And, st.lists(children, min_size=2, max_size=3).map(tuple))
        | st.builds(Or, st.lists(children, min_size=2, max_size=3).map(tuple))
    ),
    max_leaves=8,
)


def _render_value(value: object) -> str:
    if isinstance(value, tuple):
        return ",".join(_render_value(v) for v in value)
    if isinstance(value, Range):
        return f"{_render_value(value.low)}..{_render_value(value.high)}"
    return json.dumps(value, ensure_ascii=False)


def _render(node: QNode) -> str:
    if isinstance(node, And | Or):
        joiner = ";" if isinstance(node, And) else "|"
        return joiner.join(
            f"({_render(item)})" if isinstance(item, And | Or) else _render(item)
            for item in node.items
        )
    path = ".".join((node.path.attr, *node.path.sub))
    if node.path.compound:
        path += "[" + ".".join(node.path.compound) + "]"
    if node.op is None:
        return path
    if node.op == "!":
        return "!" + path
    if node.op in ("~=", "!~="):
        assert isinstance(node.value, str)
        return f'{path}{node.op}"{node.value.replace(chr(34), chr(92) + chr(34))}"'
    return f"{path}{node.op}{_render_value(node.value)}"


@given(_trees)
def test_rendered_trees_parse_back(tree: QNode) -> None:
    assert parse_q(_render(tree)) == tree


_q_alphabet = st.sampled_from([*'ab.[]()=!<>~;|,"\\ 019-:*T{}#/+e', "..", "==", '"x"'])


@given(st.text() | st.lists(_q_alphabet, max_size=30).map("".join))
def test_any_text_parses_or_is_a_bad_request(text: str) -> None:
    try:
        parse_q(text)
    except BadRequestData as error:
        assert "position" in error.detail


@given(st.text() | st.lists(st.sampled_from(list("/ab+#;|,()- ")), max_size=20).map("".join))
def test_any_scope_or_type_text_parses_or_is_refused(text: str) -> None:
    for parse in (parse_scope_q, parse_type_expr):
        with contextlib.suppress(BadRequestData, TooComplexQuery):
            parse(text)
