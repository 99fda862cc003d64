"""The query language, scopeQ and type expressions compiled to PostgreSQL conditions on `e`.

The same semantics as `sqlite_filters` (read its docstring for the rules), over JSONB: an
attribute is the array of instances at `e.doc -> 'attrs' -> '<IRI>'`; a term holds when any
instance holds it; per instance the target is the member its attribute type carries, or a
reserved member, followed into a compound value. The target's *atoms* (the target itself,
array elements, the `@value` of value objects, the `object` of objectList items, every text
of a languageMap) come from the set-returning function `q_atoms`, created by the schema's
migrations, so that the unwrapping rules are written once.

Atoms are compared only with literals of their own JSON kind: numbers as double precision
(as SQLite compares them), texts byte-wise (`COLLATE "C"`, SQLite's BINARY), booleans as
JSON. Every IRI, path and literal is a bound parameter, never spliced into the SQL text.

Patterns (`~=`, `!~=`, idPattern, scopeQ's `+`) run as PostgreSQL regular expressions
(`~`), which agree with Python's `re` on the syntax the query language uses (classes,
anchors, `\\d \\w \\s`, `(?:…)`, `\\A \\Z`).
"""

from __future__ import annotations

import re

from cityos.context.errors import BadRequestData
from cityos.context.query import (
    ANY_LANGUAGE,
    PATTERN_OPS,
    RESERVED_MEMBERS,
    And,
    AttrPath,
    Comparison,
    Literal,
    QNode,
    Range,
    ScopeExpr,
    TypeExpr,
)

SQL = tuple[str, list[object]]

ATOMS_FUNCTION = """
CREATE OR REPLACE FUNCTION q_atoms(r jsonb, unwrap text, lang boolean) RETURNS SETOF jsonb
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS $fn$
  SELECT r WHERE jsonb_typeof(r) NOT IN ('array', 'object')
  UNION ALL
  SELECT a FROM jsonb_array_elements(
      CASE WHEN jsonb_typeof(r) = 'array' THEN r ELSE '[]'::jsonb END) a
    WHERE jsonb_typeof(a) NOT IN ('array', 'object')
  UNION ALL
  SELECT a.value FROM jsonb_each(
      CASE WHEN jsonb_typeof(r) = 'object' THEN r ELSE '{}'::jsonb END) a
    WHERE jsonb_typeof(a.value) NOT IN ('array', 'object') AND (a.key = unwrap OR lang)
  UNION ALL
  SELECT b.value FROM jsonb_array_elements(
      CASE WHEN jsonb_typeof(r) = 'array' THEN r ELSE '[]'::jsonb END) a,
    jsonb_each(CASE WHEN jsonb_typeof(a) = 'object' THEN a ELSE '{}'::jsonb END) b
    WHERE jsonb_typeof(b.value) NOT IN ('array', 'object') AND b.key = unwrap
  UNION ALL
  SELECT b FROM (
      SELECT a FROM jsonb_array_elements(
          CASE WHEN jsonb_typeof(r) = 'array' THEN r ELSE '[]'::jsonb END) a
      UNION ALL
      SELECT a.value FROM jsonb_each(
          CASE WHEN jsonb_typeof(r) = 'object' THEN r ELSE '{}'::jsonb END) a
    ) x(a),
    jsonb_array_elements(CASE WHEN jsonb_typeof(x.a) = 'array' THEN x.a ELSE '[]'::jsonb END) b
    WHERE lang AND jsonb_typeof(b) NOT IN ('array', 'object')
$fn$
"""
"""The atoms of a target `r`: scalars of `r`, of its array elements and object members
(objects: only the `unwrap` member, or every member of a whole languageMap when `lang`),
one level deeper the `unwrap` member of objects in an array and, when `lang`, the texts of
arrays in a languageMap. The same rows as `sqlite_filters._Target.any_atom` walks."""

_COMPARE = {"==": "=", ">": ">", ">=": ">=", "<": "<", "<=": "<="}
_VALUE_KEY = (
    "CASE {kind} WHEN 'Relationship' THEN 'object' "
    "WHEN 'LanguageProperty' THEN 'languageMap' WHEN 'VocabProperty' THEN 'vocab' "
    "WHEN 'ListProperty' THEN 'valueList' WHEN 'ListRelationship' THEN 'objectList' "
    "WHEN 'JsonProperty' THEN 'json' ELSE 'value' END"
)
_UNWRAP = (
    "CASE {kind} WHEN 'ListRelationship' THEN 'object' "
    "WHEN 'JsonProperty' THEN NULL ELSE '@value' END"
)
_RELATIONSHIPS = "('Relationship','ListRelationship')"


def _step(name: str) -> str:
    if '"' in name:  # refused like the SQLite store refuses it, so both answer the same
        raise BadRequestData(f"The name {name!r} cannot be queried: it contains '\"'.")
    return name


def compile_q(node: QNode) -> SQL:
    """An SQL condition on entity `e` (its JSONB `doc`) for a parsed, expanded q."""
    if isinstance(node, Comparison):
        return _comparison(node)
    parts = [compile_q(item) for item in node.items]
    joiner = " AND " if isinstance(node, And) else " OR "
    return joiner.join(f"({sql})" for sql, _ in parts), [p for _, params in parts for p in params]


class _Target:
    """The rows of one path: `i.v` an attribute instance, `r.v` the target in it.

    `r.v` is SQL NULL or JSON null when the instance lacks the target; `kind` is the
    instance's type.
    """

    def __init__(self, path: AttrPath) -> None:
        self.params: list[object] = [_step(path.attr)]
        subs, self.member = path.sub, None
        if subs and subs[-1] in RESERVED_MEMBERS:
            subs, self.member = subs[:-1], subs[-1]
        sources = ["jsonb_array_elements(coalesce(e.doc -> 'attrs' -> %s, '[]'::jsonb)) i(v)"]
        inst = "i.v"
        if subs:
            sources.append("LATERAL (SELECT i.v #> %s::text[] AS v) s")
            self.params.append([_step(s) for s in subs])
            inst = "s.v"
        self.kind = f"({inst} ->> 'type')"
        if self.member is not None:
            sources.append(f"LATERAL (SELECT {inst} -> %s AS v) r")
            self.params.append(_step(self.member))
        else:
            compound = () if path.compound == ANY_LANGUAGE else path.compound
            value_key = _VALUE_KEY.format(kind=self.kind)
            sources.append(f"LATERAL (SELECT ({inst} -> ({value_key})) #> %s::text[] AS v) r")
            self.params.append([_step(c) for c in compound])
        self.sources = ", ".join(sources)
        self.unwrap = "'@value'" if self.member else _UNWRAP.format(kind=self.kind)
        whole_map = self.member is None and path.compound in ((), ANY_LANGUAGE)
        self.lang = (
            f"({self.kind} IS NOT DISTINCT FROM 'LanguageProperty')" if whole_map else "false"
        )

    def exists(self, where: str = "", params: list[object] | None = None) -> SQL:
        """Some instance has the target and satisfies `where`."""
        present = "coalesce(jsonb_typeof(r.v), 'null') <> 'null'"
        condition = f"{present} AND ({where})" if where else present
        return (
            f"EXISTS (SELECT 1 FROM {self.sources} WHERE {condition})",
            [*self.params, *(params or [])],
        )

    def not_relationship(self) -> str:
        """4.9: a Relationship target matches no operator but == and !=."""
        return "true" if self.member else f"{self.kind} NOT IN {_RELATIONSHIPS}"

    def any_atom(self, condition: SQL) -> SQL:
        """Some atom of the target `r` satisfies `condition` (written over the atom `X_`)."""
        sql = (
            f"EXISTS (SELECT 1 FROM q_atoms(r.v, {self.unwrap}, {self.lang}) x(a) "
            f"WHERE {condition[0].replace('X_', 'x.a')})"
        )
        return sql, condition[1]


def _comparison(term: Comparison) -> SQL:
    path = term.path
    if term.op in (None, "!") and not path.sub and not path.compound:
        sql = "(e.doc -> 'attrs') ? %s"
        params: list[object] = [_step(path.attr)]
        return (sql if term.op is None else f"NOT ({sql})"), params
    target = _Target(path)
    if term.op is None:
        return target.exists()
    if term.op == "!":
        sql, params = target.exists()
        return f"NOT {sql}", params
    if term.op in PATTERN_OPS:
        assert isinstance(term.value, str)
        match, match_params = target.any_atom((_text("X_ ~ %s"), [term.value]))
        if term.op == "~=":
            return target.exists(f"{target.not_relationship()} AND ({match})", match_params)
        text, text_params = target.any_atom(("jsonb_typeof(X_) = 'string'", []))
        return target.exists(
            f"{target.not_relationship()} AND ({text}) AND NOT ({match})",
            [*text_params, *match_params],
        )
    condition = _equality(term, target) if term.op in ("==", "!=") else _order(term)
    match, match_params = target.any_atom(condition)
    if term.op == "!=":
        return target.exists(f"NOT ({match})", match_params)
    if term.op == "==":
        return target.exists(match, match_params)
    return target.exists(f"{target.not_relationship()} AND ({match})", match_params)


def _equality(term: Comparison, target: _Target) -> SQL:
    """The atom equals the value, is in the list or the range (for == and for !=)."""
    plain = _equals(term.value)
    if term.vocab_value is None or target.member is not None:
        return plain
    vocab = _equals(term.vocab_value)
    return (
        f"(({target.kind} IS NOT DISTINCT FROM 'VocabProperty' AND ({vocab[0]})) "
        f"OR ({target.kind} IS DISTINCT FROM 'VocabProperty' AND ({plain[0]})))",
        [*vocab[1], *plain[1]],
    )


def _equals(value: Literal | tuple[Literal, ...] | Range) -> SQL:
    if isinstance(value, tuple):
        parts = [_equals(item) for item in value]
        return " OR ".join(f"({sql})" for sql, _ in parts), [p for _, ps in parts for p in ps]
    if isinstance(value, Range):
        return _typed(value.low, "BETWEEN {} AND {}"), [value.low, value.high]
    if isinstance(value, bool):
        return f"X_ = '{'true' if value else 'false'}'::jsonb", []
    return _typed(value, "= {}"), [value]


def _order(term: Comparison) -> SQL:
    value = term.value
    if isinstance(value, tuple | Range | bool) or value is None or term.op not in _COMPARE:
        raise BadRequestData(f"{term.op} cannot compare with {value!r}.")
    return _typed(value, f"{_COMPARE[term.op]} {{}}"), [value]


def _typed(value: Literal, test: str) -> str:
    """`X_ <test>` for atoms of the JSON kind of `value`, false for every other atom (the
    CASE keeps the cast away from atoms of another kind)."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        compared = "(X_)::double precision " + test.format(
            *(["%s::double precision"] * test.count("{}"))
        )
        return f"CASE WHEN jsonb_typeof(X_) = 'number' THEN {compared} ELSE false END"
    return _text('X_ COLLATE "C" ' + test.format(*(["%s::text"] * test.count("{}"))))


def _text(test: str) -> str:
    """`test` on the text of a string atom (written over `X_`), false for other atoms."""
    atom = "(X_ #>> '{}')"
    return (
        f"CASE WHEN jsonb_typeof(X_) = 'string' THEN {test.replace('X_', atom, 1)} ELSE false END"
    )


def compile_types(expr: TypeExpr, column: str = "e.types") -> SQL:
    """Entities having all types of at least one group (`column` is their text[] of types,
    GIN-indexed)."""
    groups = [f"{column} @> %s::text[]" for _ in expr]
    return " OR ".join(f"({g})" for g in groups) or "false", [list(group) for group in expr]


def compile_scope(expr: ScopeExpr) -> SQL:
    """Entities whose scopes match all patterns of at least one group (4.19)."""
    groups: list[str] = []
    params: list[object] = []
    for group in expr:
        terms = []
        for pattern in group:
            sql, values = _scope_match(pattern)
            terms.append(
                "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE jsonb_typeof(e.doc -> 'scope') "
                "WHEN 'array' THEN e.doc -> 'scope' WHEN 'string' THEN "
                "jsonb_build_array(e.doc -> 'scope') ELSE '[]'::jsonb END) s(v) "
                f"WHERE jsonb_typeof(s.v) = 'string' AND {sql})"
            )
            params.extend(values)
        groups.append(" AND ".join(terms))
    return " OR ".join(f"({g})" for g in groups) or "false", params


def _scope_match(pattern: str) -> SQL:
    """One scope pattern as a condition on the scope `s.v`."""
    text = "(s.v #>> '{}')"
    if pattern == "/#":
        return "true", []
    below = pattern.endswith("/#")
    base = pattern[:-2] if below else pattern
    levels = base[1:].split("/")
    if "+" in levels:
        regex = "".join("/[^/]+" if level == "+" else "/" + re.escape(level) for level in levels)
        return f"{text} ~ %s", [f"^{regex}{'(?:/.*)?' if below else ''}\\Z"]
    if below:
        return f"({text} = %s OR left({text}, %s) = %s)", [base, len(base) + 1, base + "/"]
    return f"{text} = %s", [pattern]
