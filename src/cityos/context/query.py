"""The NGSI-LD query language (ETSI GS CIM 009, 4.9), scopeQ (4.19) and the `type` expression.

Parsing yields a small immutable syntax tree with the names exactly as the client wrote
them; `expand_q` then swaps every attribute name for its IRI, so that `store/` compiles a
tree of full names into its own query language.

The q parser is a scanner that reads one token of the kind the grammar expects next (a
name, an operator, a value, a regular expression) plus a recursive-descent parser over it:
what a character means depends on where it stands (`.` separates path steps but sits inside
numbers and URIs, `|` is "or" but also regex alternation), so one context-free token stream
would not do.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime, time

from cityos.context.errors import BadRequestData, TooComplexQuery
from cityos.context.pattern import PatternError, compile_pattern

Literal = str | int | float | bool | None


@dataclass(frozen=True, slots=True)
class AttrPath:
    """`attr.sub.sub[member.member]`: an attribute, sub-attributes, members of its value.

    The last `sub` step may be a reserved instance member (`RESERVED_MEMBERS`); a compound
    path of exactly ``("*",)`` means "any language" of a LanguageProperty.
    """

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
    """One term of a query: `path op value`; op None tests existence, op `!` absence.

    `vocab_value` is `value` with its strings expanded as vocabulary terms (set by
    `expand_q` for `==` and `!=`): VocabProperty values are stored expanded, so they are
    compared with it rather than with the text the client wrote.
    """

    path: AttrPath
    op: str | None = None
    value: Literal | tuple[Literal, ...] | Range = None
    vocab_value: Literal | tuple[Literal, ...] | None = None


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

ANY_LANGUAGE = ("*",)
"""The compound path `[*]`: every language of a LanguageProperty."""

EQUALITY_OPS = ("==", "!=")
ORDER_OPS = (">=", "<=", ">", "<")
PATTERN_OPS = ("~=", "!~=")
_OPERATORS = ("==", "!=", ">=", "<=", "!~=", "~=", ">", "<")
"""Longest first where one is a prefix of another, so `>=` is never read as `>`."""

MAX_DEPTH_CEILING = 100
"""The deepest nesting any configuration may allow: guards the recursion (three frames a
level), so that no setting turns a query into a RecursionError."""


@dataclass(frozen=True, slots=True)
class QueryLimits:
    """How long a q or scopeQ may be and how deeply its parentheses may nest: it costs far
    less to send a query than to compile and run it, so past these the broker refuses it
    (TooComplexQuery, 403, ETSI GS CIM 009 5.5.2). `cityos serve --max-query-length` and
    `--max-query-depth` set them."""

    max_length: int = 4096
    max_depth: int = 32

    def __post_init__(self) -> None:
        if self.max_length < 1 or not 1 <= self.max_depth <= MAX_DEPTH_CEILING:
            raise ValueError(
                f"query limits: length >= 1 and depth from 1 to {MAX_DEPTH_CEILING}, "
                f"not {self.max_length} and {self.max_depth}"
            )

    def check_length(self, text: str, what: str) -> None:
        if len(text) > self.max_length:
            raise TooComplexQuery(
                f"{what} is {len(text)} characters long, beyond the limit of {self.max_length} "
                "(cityos serve --max-query-length)."
            )

    def too_deep(self, what: str) -> TooComplexQuery:
        return TooComplexQuery(
            f"{what} nests parentheses more than {self.max_depth} deep, the limit "
            "(cityos serve --max-query-depth)."
        )


DEFAULT_LIMITS = QueryLimits()
_TYPE_LIMITS = QueryLimits(max_length=1 << 20, max_depth=64)
"""A `type` parameter lists names, each a possible IRI: no length limit of its own (the
URL has one), and the recursion guard only."""
_MAX_DNF_GROUPS = 256
"""`(a|b);(c|d);...` doubles with every factor; beyond this the request is refused."""

_NAME_STOPS = frozenset(".[]{}=!<>~;|(),\"'*")
"""Characters that end an attribute or member name."""
_VALUE_STOPS = frozenset(';|(),"')
"""Characters that end an unquoted value (besides white space and `..`)."""


class _Scanner:
    """A cursor over the text, reading the token kind the parser asks for."""

    def __init__(self, text: str, what: str, limits: QueryLimits = DEFAULT_LIMITS) -> None:
        limits.check_length(text, what)
        self.text, self.pos, self.what, self.limits = text, 0, what, limits

    # -- position ---------------------------------------------------------------------------

    def skip_space(self) -> None:
        while self.pos < len(self.text) and self.text[self.pos].isspace():
            self.pos += 1

    def peek(self) -> str:
        """The next character after white space, or '' at the end."""
        self.skip_space()
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def at(self, token: str) -> bool:
        self.skip_space()
        return self.text.startswith(token, self.pos)

    def done(self) -> bool:
        return self.peek() == ""

    def take(self, token: str) -> bool:
        if self.at(token):
            self.pos += len(token)
            return True
        return False

    def expect(self, token: str, what: str | None = None) -> None:
        if not self.take(token):
            raise self.fail(f"expected {what or repr(token)}")

    # -- errors -----------------------------------------------------------------------------

    def found(self) -> str:
        """The offending token at the cursor, for error messages."""
        self.skip_space()
        if self.pos >= len(self.text):
            return "the end of the text"
        end = self.pos + 1
        while end < len(self.text) and end - self.pos < 24:
            if self.text[end].isspace() or self.text[end] in ";|()":
                break
            end += 1
        return repr(self.text[self.pos : end])

    def fail(self, message: str, at: int | None = None) -> BadRequestData:
        if at is not None:
            self.pos = at
        return BadRequestData(
            f"{self.what} {self.text!r} is not valid at position {self.pos}: "
            f"{message}, found {self.found()}."
        )

    # -- tokens -----------------------------------------------------------------------------

    def name(self, what: str = "an attribute name") -> str:
        """An attribute, sub-attribute or member name (a term, or a compact IRI)."""
        self.skip_space()
        start = self.pos
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in _NAME_STOPS or char.isspace() or not char.isprintable():
                break
            self.pos += 1
        if self.pos == start:
            raise self.fail(f"expected {what}")
        return self.text[start : self.pos]

    def operator(self) -> str | None:
        self.skip_space()
        return next((op for op in _OPERATORS if self.take(op)), None)

    def quoted(self) -> str:
        """A JSON string at the cursor, returned raw (quotes and escapes included)."""
        start = self.pos
        self.pos += 1
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\":
                self.pos += 2
                continue
            self.pos += 1
            if char == '"':
                return self.text[start : self.pos]
        raise self.fail("a quoted string is not closed", at=start)

    def bare(self) -> str:
        """An unquoted value: up to white space, `;|(),"` or a range's `..`."""
        self.skip_space()
        start = self.pos
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char in _VALUE_STOPS or char.isspace() or self.text.startswith("..", self.pos):
                break
            self.pos += 1
        return self.text[start : self.pos]

    def regex(self) -> str:
        """An unquoted regular expression: up to `;`, `|` or `)` outside its own groups.

        Parentheses and bracket expressions of the pattern are kept whole, and `\\x` escapes
        are skipped, so `a(b|c)` and `[;|]` stay patterns; a bare `|` ends the pattern, so a
        pattern with a top-level alternation has to be quoted.
        """
        self.skip_space()
        start, depth = self.pos, 0
        while self.pos < len(self.text):
            char = self.text[self.pos]
            if char == "\\":
                self.pos += 2
                continue
            if char == "[":
                self._skip_bracket()
                continue
            if char == "(":
                depth += 1
            elif char == ")":
                if depth == 0:
                    break
                depth -= 1
            elif char in ";|" and depth == 0:
                break
            self.pos += 1
        self.pos = min(self.pos, len(self.text))
        return self.text[start : self.pos].rstrip()

    def _skip_bracket(self) -> None:
        """Past a regex bracket expression such as `[^]a;|]`, whose `]` may come first."""
        self.pos += 1
        if self.text.startswith("^", self.pos):
            self.pos += 1
        if self.text.startswith("]", self.pos):
            self.pos += 1
        while self.pos < len(self.text) and self.text[self.pos] != "]":
            self.pos += 2 if self.text[self.pos] == "\\" else 1
        self.pos = min(self.pos + 1, len(self.text))


# -- q ---------------------------------------------------------------------------------------


def parse_q(text: str, limits: QueryLimits = DEFAULT_LIMITS) -> QNode:
    """Parse an NGSI-LD query (4.9); `;` (and) binds tighter than `|` (or).

    Beyond the grammar, white space between tokens is ignored and `!attr` tests that an
    attribute is absent (as Orion-LD allows). Longer or deeper than `limits`: TooComplexQuery.
    """
    scanner = _Scanner(text, "q", limits)
    if scanner.done():
        raise scanner.fail("the query is empty")
    node = _q_or(scanner, 0)
    if not scanner.done():
        raise scanner.fail("expected ';', '|' or the end of the query")
    return node


def _q_or(scanner: _Scanner, depth: int) -> QNode:
    items = [_q_and(scanner, depth)]
    while scanner.take("|"):
        items.append(_q_and(scanner, depth))
    return items[0] if len(items) == 1 else Or(tuple(items))


def _q_and(scanner: _Scanner, depth: int) -> QNode:
    items = [_q_factor(scanner, depth)]
    while scanner.take(";"):
        items.append(_q_factor(scanner, depth))
    return items[0] if len(items) == 1 else And(tuple(items))


def _q_factor(scanner: _Scanner, depth: int) -> QNode:
    if scanner.at("("):
        if depth >= scanner.limits.max_depth:
            raise scanner.limits.too_deep(scanner.what)
        scanner.pos += 1
        node = _q_or(scanner, depth + 1)
        scanner.expect(")", "')', ';' or '|'")
        return node
    return _q_term(scanner)


def _q_term(scanner: _Scanner) -> Comparison:
    negated = scanner.at("!")
    if negated:
        scanner.pos += 1
    path = _attr_path(scanner)
    start = scanner.pos
    op = scanner.operator()
    if op is None:
        if scanner.peek() in ("", ";", "|", ")"):
            return Comparison(path, "!" if negated else None)
        raise scanner.fail("expected an operator (== != > >= < <= ~= !~=)")
    if negated:
        raise scanner.fail("'!' only negates an attribute's existence", at=start)
    if op in PATTERN_OPS:
        return Comparison(path, op, _pattern(scanner))
    return Comparison(path, op, _value(scanner, op))


def _attr_path(scanner: _Scanner) -> AttrPath:
    steps = [scanner.name()]
    member_at = None
    while scanner.take("."):
        if member_at is None and steps[-1] in RESERVED_MEMBERS and len(steps) > 1:
            member_at = scanner.pos - len(steps[-1]) - 1
        steps.append(scanner.name("a sub-attribute name after '.'"))
    if scanner.at("{"):
        raise scanner.fail("linked-entity paths (attr{...}) are not supported")
    compound: tuple[str, ...] = ()
    if scanner.take("["):
        if scanner.take("*"):
            compound = ANY_LANGUAGE
        else:
            members = [scanner.name("a member name inside [ ]")]
            while scanner.take("."):
                members.append(scanner.name("a member name after '.'"))
            compound = tuple(members)
        scanner.expect("]")
    if member_at is not None or (compound and len(steps) > 1 and steps[-1] in RESERVED_MEMBERS):
        step = next(s for s in steps[1:] if s in RESERVED_MEMBERS)
        raise scanner.fail(f"{step!r} names an instance member and must end the path", member_at)
    return AttrPath(steps[0], tuple(steps[1:]), compound)


def _pattern(scanner: _Scanner) -> str:
    start = scanner.pos
    if scanner.peek() == '"':
        raw = scanner.quoted()
        pattern = raw[1:-1].replace('\\"', '"')
    else:
        pattern = scanner.regex()
    if not pattern:
        raise scanner.fail("expected a regular expression", at=start)
    try:
        compile_pattern(pattern, "The pattern")
    except PatternError as error:
        raise scanner.fail(error.detail, at=start) from None
    return pattern


# A value read from the text, with what kind of token it was.
_NUMBER, _STRING, _TEMPORAL, _BOOLEAN, _WORD = "number", "string", "temporal", "boolean", "word"


def _value(scanner: _Scanner, op: str) -> Literal | tuple[Literal, ...] | Range:
    start = scanner.pos
    first, kind = _item(scanner)
    if scanner.take(".."):
        high, high_kind = _item(scanner)
        if op not in EQUALITY_OPS:
            raise scanner.fail("a range needs == or !=", at=start)
        comparable = (_NUMBER, _STRING, _TEMPORAL)
        if kind not in comparable or high_kind not in comparable:
            raise scanner.fail("a range joins two numbers, strings or dates", at=start)
        if (kind == _NUMBER) != (high_kind == _NUMBER):
            raise scanner.fail("both ends of a range must be of one kind", at=start)
        return Range(first, high)
    if scanner.at(","):
        if op not in EQUALITY_OPS:
            raise scanner.fail("a list of values needs == or !=", at=start)
        items = [first]
        while scanner.take(","):
            items.append(_item(scanner)[0])
        return tuple(items)
    if op in ORDER_OPS and kind in (_BOOLEAN, _WORD):
        raise scanner.fail(
            f'{op} compares numbers, quoted strings and dates (quote text: "...")', at=start
        )
    return first


def _item(scanner: _Scanner) -> tuple[Literal, str]:
    """One value: a quoted string, true/false, a number, a date or time, or a bare word."""
    start = scanner.pos
    if scanner.peek() == '"':
        raw = scanner.quoted()
        try:
            text = json.loads(raw)
        except ValueError:
            raise scanner.fail("the quoted string is not a valid JSON string", at=start) from None
        return text, _STRING
    raw = scanner.bare()
    if not raw:
        raise scanner.fail("expected a value")
    if raw in ("true", "false"):
        return raw == "true", _BOOLEAN
    number = _number(raw)
    if number is not None:
        return number, _NUMBER
    if _is_temporal(raw):
        return raw, _TEMPORAL
    if raw[0] in "=!<>~.[]'" or not raw.isprintable():
        raise scanner.fail("expected a value", at=start)
    return raw, _WORD


def _number(raw: str) -> int | float | None:
    """A JSON number (RFC 8259, 6), or None."""
    if not (raw[0] == "-" or raw[0].isdigit()) or not raw[-1].isdigit():
        return None
    try:
        number = json.loads(raw)
    except ValueError:
        return None
    if isinstance(number, bool) or not isinstance(number, int | float):
        return None
    if isinstance(number, float) and not math.isfinite(number):
        return None
    if isinstance(number, int) and not -(2**63) <= number < 2**63:
        return float(number)  # beyond SQLite's integers: compare as a real
    return number


def _is_temporal(raw: str) -> bool:
    """A DateTime, Date or Time (4.6.3), which the query compares as text."""
    try:
        if "T" in raw:
            datetime.fromisoformat(raw)
        elif len(raw) == 10 and raw[4] == raw[7] == "-":
            date.fromisoformat(raw)
        elif ":" in raw and raw[0].isdigit():
            time.fromisoformat(raw)
        else:
            return False
    except ValueError:
        return False
    return True


def expand_q(node: QNode, expand: Callable[[str], str]) -> QNode:
    """The same query with attribute and sub-attribute names expanded to IRIs.

    Reserved instance members (`observedAt`, ...) and compound members stay as written;
    string values of `==` and `!=` also get their vocabulary expansion, for VocabProperty.
    """
    if isinstance(node, Comparison):
        path = node.path
        sub = tuple(s if s in RESERVED_MEMBERS else expand(s) for s in path.sub)
        vocab_value = _expand_vocab(node, expand)
        return Comparison(
            AttrPath(expand(path.attr), sub, path.compound), node.op, node.value, vocab_value
        )
    items = tuple(expand_q(item, expand) for item in node.items)
    return And(items) if isinstance(node, And) else Or(items)


def _expand_vocab(
    node: Comparison, expand: Callable[[str], str]
) -> Literal | tuple[Literal, ...] | None:
    if node.op not in EQUALITY_OPS or node.path.sub or node.path.compound:
        return None
    value = node.value
    if isinstance(value, str):
        return expand(value)
    if isinstance(value, tuple) and any(isinstance(v, str) for v in value):
        return tuple(expand(v) if isinstance(v, str) else v for v in value)
    return None


# -- type and scopeQ -------------------------------------------------------------------------


def _dnf(
    text: str,
    what: str,
    item: Callable[[_Scanner], str],
    ors: tuple[str, ...],
    limits: QueryLimits,
) -> tuple[tuple[str, ...], ...]:
    """Parse `a;b|c,(d;e)` into disjunctive normal form: `;` and, each of `ors` or."""
    scanner = _Scanner(text, what, limits)

    def alternatives(depth: int) -> list[tuple[str, ...]]:
        groups = conjunction(depth)
        while any(scanner.take(op) for op in ors):
            groups = groups + conjunction(depth)
            _check_size(groups)
        return groups

    def conjunction(depth: int) -> list[tuple[str, ...]]:
        groups = factor(depth)
        while scanner.take(";"):
            right = factor(depth)
            _check_size(right, len(groups))
            groups = [tuple(dict.fromkeys(a + b)) for a in groups for b in right]
        return groups

    def factor(depth: int) -> list[tuple[str, ...]]:
        if scanner.at("("):
            if depth >= scanner.limits.max_depth:
                raise scanner.limits.too_deep(what)
            scanner.pos += 1
            groups = alternatives(depth + 1)
            scanner.expect(")", "')', ';' or '|'")
            return groups
        return [(item(scanner),)]

    def _check_size(groups: list[tuple[str, ...]], times: int = 1) -> None:
        if len(groups) * times > _MAX_DNF_GROUPS:
            raise TooComplexQuery(
                f"{what} {text!r} expands to more than {_MAX_DNF_GROUPS} alternatives."
            )

    if scanner.done():
        raise scanner.fail("it is empty")
    groups = alternatives(0)
    if not scanner.done():
        raise scanner.fail(f"expected {' or '.join(repr(op) for op in (';', *ors))}")
    return tuple(dict.fromkeys(groups))


def _type_name(scanner: _Scanner) -> str:
    scanner.skip_space()
    start = scanner.pos
    while scanner.pos < len(scanner.text):
        char = scanner.text[scanner.pos]
        if char in ",;|()\"'" or char.isspace() or not char.isprintable():
            break
        scanner.pos += 1
    if scanner.pos == start:
        raise scanner.fail("expected an entity type name")
    return scanner.text[start : scanner.pos]


def _scope(scanner: _Scanner) -> str:
    """`/Level/Level`, where a level may be `+` (any one level) and a last `/#` (and below)."""
    scanner.skip_space()
    text, start = scanner.text, scanner.pos
    if not text.startswith("/", start):
        raise scanner.fail("expected a scope starting with '/'")
    if text.startswith("/#", start):
        scanner.pos += 2
        return "/#"
    while text.startswith("/", scanner.pos):
        scanner.pos += 1
        if text.startswith("#", scanner.pos) and scanner.pos - start > 1:
            scanner.pos += 1
            break
        if text.startswith("+", scanner.pos):
            scanner.pos += 1
            continue
        level = scanner.pos
        while scanner.pos < len(text) and _scope_char(text[scanner.pos]):
            scanner.pos += 1
        if scanner.pos == level:
            raise scanner.fail("expected a scope level (letters, digits, '_', '-' or '+')")
    return text[start : scanner.pos]


def _scope_char(char: str) -> bool:
    return char.isalnum() or char in "_-"


def parse_type_expr(text: str) -> TypeExpr:
    """The `type` parameter: `A,B` or `A|B` (either), `A;B` (both), with parentheses."""
    return _dnf(text, "type", _type_name, (",", "|"), _TYPE_LIMITS)


def expand_types(expr: TypeExpr, expand: Callable[[str], str]) -> TypeExpr:
    return tuple(tuple(expand(name) for name in group) for group in expr)


def parse_scope_q(text: str, limits: QueryLimits = DEFAULT_LIMITS) -> ScopeExpr:
    """A scopeQ (4.19): `/a/b`, `/a/#` (a and below), `/a/+/c` (any one level), `/#` (any)."""
    return _dnf(text, "scopeQ", _scope, (",", "|"), limits)


def parse_csv_names(text: str, what: str = "attrs") -> list[str]:
    """A comma-separated list of names such as `attrs`, without repeats, in the given order."""
    names: list[str] = []
    for position, raw in _positions(text):
        name = raw.strip()
        if not name or any(c.isspace() or c in "\"'()[]{};|=<>" for c in name):
            raise BadRequestData(
                f"{what} {text!r} is not valid at position {position}: "
                f"expected a name, found {raw!r}."
            )
        if name not in names:
            names.append(name)
    return names


def _positions(text: str) -> list[tuple[int, str]]:
    parts, start = [], 0
    for part in text.split(","):
        parts.append((start, part))
        start += len(part) + 1
    return parts
