"""The NGSI-LD query language (ETSI GS CIM 009, 4.9), scopeQ (4.19) and the `type` expression.

Parsing yields a small immutable syntax tree with the names exactly as the client wrote
them; `expand_q` then swaps every attribute name for its IRI, so that `store/` compiles a
tree of full names into its own query language.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from cityos.context.errors import BadRequestData

Literal = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class AttrPath:
    """`attr.sub.sub[member.member]`: an attribute, sub-attributes, members of its value."""

    attr: str
    sub: tuple[str, ...] = ()
    compound: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Range:
    """`low..high`, both ends included."""

    low: Literal
    high: Literal


@dataclass(frozen=True, slots=True)
class Comparison:
    """One term of a query: `path op value`; op None tests existence, op `!` absence."""

    path: AttrPath
    op: str | None = None
    value: Literal | tuple[Literal, ...] | Range = None


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[QNode, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[QNode, ...]


QNode = Comparison | And | Or

TypeExpr = tuple[tuple[str, ...], ...]
"""A `type` parameter in disjunctive normal form: any of the groups, each needing all its types."""

ScopeExpr = tuple[tuple[str, ...], ...]
"""A scopeQ in disjunctive normal form: any of the groups, each needing all its scope patterns."""


RESERVED_MEMBERS = frozenset({"observedAt", "unitCode", "datasetId", "createdAt", "modifiedAt"})
"""Path steps that name a member of an instance, not a sub-attribute; never expanded."""

_LOGICAL = ";|"
_OPERATORS = ("==", "!=", ">=", "<=", "!~=", "~=", ">", "<")
_NUMBER = re.compile(r"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?$")
_SCOPE = re.compile(r"^/(#|([A-Za-z0-9_\-]+)(/[A-Za-z0-9_\-]+)*(/#|/\+)?)$")
_MAX_DEPTH = 16


class _Reader:
    """A cursor over the query text with error reporting by position."""

    def __init__(self, text: str, what: str) -> None:
        self.text, self.pos, self.what = text, 0, what

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def done(self) -> bool:
        return self.pos >= len(self.text)

    def fail(self, message: str) -> BadRequestData:
        return BadRequestData(
            f"{self.what} {self.text!r} is not valid at position {self.pos}: {message}."
        )

    def expect(self, char: str) -> None:
        if self.peek() != char:
            raise self.fail(f"expected {char!r}, found {self.peek() or 'the end'!r}")
        self.pos += 1


def parse_q(text: str) -> QNode:
    """Parse an NGSI-LD query (4.9); `;` (and) binds tighter than `|` (or)."""
    reader = _Reader(text, "q")
    if not text.strip():
        raise reader.fail("the query is empty")
    node = _q_or(reader, 0)
    if not reader.done():
        raise reader.fail(f"unexpected {reader.peek()!r}")
    return node


def _q_or(reader: _Reader, depth: int) -> QNode:
    items = [_q_and(reader, depth)]
    while reader.peek() == "|":
        reader.pos += 1
        items.append(_q_and(reader, depth))
    return items[0] if len(items) == 1 else Or(tuple(items))


def _q_and(reader: _Reader, depth: int) -> QNode:
    items = [_q_factor(reader, depth)]
    while reader.peek() == ";":
        reader.pos += 1
        items.append(_q_factor(reader, depth))
    return items[0] if len(items) == 1 else And(tuple(items))


def _q_factor(reader: _Reader, depth: int) -> QNode:
    if depth > _MAX_DEPTH:
        raise reader.fail("parentheses nest too deeply")
    if reader.peek() == "(":
        reader.pos += 1
        node = _q_or(reader, depth + 1)
        reader.expect(")")
        return node
    return _q_term(reader)


def _q_term(reader: _Reader) -> Comparison:
    negated = reader.peek() == "!" and not reader.text.startswith(("!=", "!~="), reader.pos)
    if negated:
        reader.pos += 1
    path = _attr_path(reader)
    op = next((o for o in _OPERATORS if reader.text.startswith(o, reader.pos)), None)
    if op is None:
        return Comparison(path, "!" if negated else None)
    if negated:
        raise reader.fail("'!' only negates an attribute's existence")
    reader.pos += len(op)
    if op in ("~=", "!~="):
        return Comparison(path, op, _pattern(reader))
    return Comparison(path, op, _value(reader, op))


def _attr_path(reader: _Reader) -> AttrPath:
    start = reader.pos
    while not reader.done() and reader.peek() not in "=!<>~;|()[":
        reader.pos += 1
    names = reader.text[start : reader.pos]
    steps = names.split(".")
    if not names or not all(_is_name(step) for step in steps):
        reader.pos = start
        raise reader.fail("expected an attribute name")
    compound: tuple[str, ...] = ()
    if reader.peek() == "[":
        reader.pos += 1
        inner = reader.pos
        while not reader.done() and reader.peek() != "]":
            reader.pos += 1
        members = reader.text[inner : reader.pos].split(".")
        if not all(_is_name(m) for m in members):
            raise reader.fail("expected member names inside [ ]")
        reader.expect("]")
        compound = tuple(members)
    return AttrPath(steps[0], tuple(steps[1:]), compound)


def _is_name(text: str) -> bool:
    return bool(text) and not any(c in text for c in " \"'=<>~;|()[],") and text.isprintable()


def _raw_until_logical(reader: _Reader) -> str:
    """Text up to the next `;`, `|` or unbalanced `)` outside quotes."""
    start, depth, quoted = reader.pos, 0, False
    while not reader.done():
        char = reader.peek()
        if char == "\\" and quoted:
            reader.pos += 2
            continue
        if char == '"':
            quoted = not quoted
        elif not quoted:
            if char in _LOGICAL:
                break
            if char == "(":
                depth += 1
            elif char == ")":
                if depth == 0:
                    break
                depth -= 1
        reader.pos += 1
    if quoted:
        raise reader.fail("a quoted string is not closed")
    return reader.text[start : reader.pos]


def _pattern(reader: _Reader) -> str:
    raw = _raw_until_logical(reader)
    pattern = _unquote(raw) if raw.startswith('"') and raw.endswith('"') and len(raw) > 1 else raw
    try:
        re.compile(pattern)
    except re.error as error:
        raise reader.fail(f"the pattern is not a valid regular expression ({error})") from None
    return pattern


def _value(reader: _Reader, op: str) -> Literal | tuple[Literal, ...] | Range:
    raw = _raw_until_logical(reader)
    if not raw:
        raise reader.fail("expected a value")
    parts = _split_outside_quotes(raw, ",")
    if len(parts) > 1:
        if op not in ("==", "!="):
            raise reader.fail("a list of values needs == or !=")
        return tuple(_literal(reader, part) for part in parts)
    bounds = _split_outside_quotes(raw, "..")
    if len(bounds) == 2:
        if op not in ("==", "!="):
            raise reader.fail("a range needs == or !=")
        low, high = (_literal(reader, b) for b in bounds)
        if type(low) is not type(high) and not all(isinstance(v, int | float) for v in (low, high)):
            raise reader.fail("both ends of a range must be of one kind")
        return Range(low, high)
    return _literal(reader, raw)


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts, start, quoted, index = [], 0, False, 0
    while index < len(text):
        if text[index] == "\\" and quoted:
            index += 2
            continue
        if text[index] == '"':
            quoted = not quoted
        elif not quoted and text.startswith(separator, index):
            parts.append(text[start:index])
            index += len(separator)
            start = index
            continue
        index += 1
    parts.append(text[start:])
    return parts


def _literal(reader: _Reader, raw: str) -> Literal:
    if len(raw) >= 2 and raw[0] == raw[-1] == '"':
        return _unquote(raw)
    if raw in ("true", "false"):
        return raw == "true"
    if _NUMBER.match(raw):
        number = float(raw)
        return (
            int(raw)
            if number.is_integer() and "." not in raw and "e" not in raw.lower()
            else number
        )
    if not raw or raw[0] in "<>=!~" or any(c in raw for c in ' "'):
        raise reader.fail(f'{raw!r} is not a value (quote strings: "text")')
    return raw


def _unquote(raw: str) -> str:
    return re.sub(r"\\(.)", r"\1", raw[1:-1])


def expand_q(node: QNode, expand: Callable[[str], str]) -> QNode:
    """The same query with attribute and sub-attribute names expanded to IRIs."""
    if isinstance(node, Comparison):
        path = node.path
        sub = tuple(s if s in RESERVED_MEMBERS else expand(s) for s in path.sub)
        return Comparison(AttrPath(expand(path.attr), sub, path.compound), node.op, node.value)
    items = tuple(expand_q(item, expand) for item in node.items)
    return And(items) if isinstance(node, And) else Or(items)


def _dnf(text: str, what: str, check: Callable[[_Reader, str], str]) -> tuple[tuple[str, ...], ...]:
    """Parse `a;b|c,(d;e)` into disjunctive normal form: `,` and `|` or, `;` and."""
    reader = _Reader(text, what)

    def alternatives(depth: int) -> list[tuple[str, ...]]:
        groups = conjunction(depth)
        while reader.peek() in ("|", ","):
            reader.pos += 1
            groups = groups + conjunction(depth)
        return groups

    def conjunction(depth: int) -> list[tuple[str, ...]]:
        groups = factor(depth)
        while reader.peek() == ";":
            reader.pos += 1
            right = factor(depth)
            groups = [tuple(dict.fromkeys(a + b)) for a in groups for b in right]
        return groups

    def factor(depth: int) -> list[tuple[str, ...]]:
        if depth > _MAX_DEPTH:
            raise reader.fail("parentheses nest too deeply")
        if reader.peek() == "(":
            reader.pos += 1
            groups = alternatives(depth + 1)
            reader.expect(")")
            return groups
        start = reader.pos
        while not reader.done() and reader.peek() not in ",|;()":
            reader.pos += 1
        return [(check(reader, reader.text[start : reader.pos].strip()),)]

    if not text.strip():
        raise reader.fail("it is empty")
    groups = alternatives(0)
    if not reader.done():
        raise reader.fail(f"unexpected {reader.peek()!r}")
    return tuple(dict.fromkeys(groups))


def _type_name(reader: _Reader, name: str) -> str:
    if not _is_name(name):
        raise reader.fail(f"{name!r} is not an entity type name")
    return name


def _scope(reader: _Reader, scope: str) -> str:
    if _SCOPE.match(scope) is None:
        raise reader.fail(f"{scope!r} is not a scope (like /City/District, /City/#, /City/+)")
    return scope


def parse_type_expr(text: str) -> TypeExpr:
    """The `type` parameter: `A,B` or `A|B` (either), `A;B` (both), with parentheses."""
    return _dnf(text, "type", _type_name)


def expand_types(expr: TypeExpr, expand: Callable[[str], str]) -> TypeExpr:
    return tuple(tuple(expand(name) for name in group) for group in expr)


def parse_scope_q(text: str) -> ScopeExpr:
    """A scopeQ (4.19): scopes with `/#` (and below) or `/+` (one level below)."""
    return _dnf(text, "scopeQ", _scope)
