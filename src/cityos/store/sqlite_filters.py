"""The query language, scopeQ and type expressions compiled to SQLite conditions.

An attribute is a JSON array of instances in `entities.doc` at `$.attrs."<IRI>"`; a term
matches when any instance matches, and for arrays or language maps when any element does.
Values are compared only with values of their own JSON kind, since SQLite would otherwise
order every number before every string and answer `temperature > 20` for the text "hot".
"""

from __future__ import annotations

from typing import Any

from cityos.context.query import (
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

SQL = tuple[str, list[Any]]

_VALUE_MEMBER = (
    "CASE json_extract({inst}, '$.type') WHEN 'Relationship' THEN '$.object' "
    "WHEN 'LanguageProperty' THEN '$.languageMap' WHEN 'VocabProperty' THEN '$.vocab' "
    "WHEN 'ListProperty' THEN '$.valueList' WHEN 'ListRelationship' THEN '$.objectList' "
    "WHEN 'JsonProperty' THEN '$.json' ELSE '$.value' END"
)
_COMPARE = {"==": "=", "!=": "=", ">": ">", ">=": ">=", "<": "<", "<=": "<="}


def json_path(*steps: str) -> str:
    """A JSON path with every step quoted, so IRIs with ':' '/' '#' are safe."""
    return "$" + "".join('."' + step.replace('"', "") + '"' for step in steps)


def compile_q(node: QNode) -> SQL:
    """An SQL condition on entity `e` for a parsed, expanded q."""
    if isinstance(node, Comparison):
        return _comparison(node)
    parts = [compile_q(item) for item in node.items]
    joiner = " AND " if isinstance(node, And) else " OR "
    return joiner.join(f"({sql})" for sql, _ in parts), [p for _, params in parts for p in params]


def _comparison(term: Comparison) -> SQL:
    source, params = _elements(term.path)
    if term.op is None:
        return f"EXISTS (SELECT 1 FROM {source})", params
    if term.op == "!":
        return f"NOT EXISTS (SELECT 1 FROM {source})", params
    if term.op in ("!=", "!~="):
        positive = Comparison(term.path, "==" if term.op == "!=" else "~=", term.value)
        match_sql, match_params = _comparison(positive)
        return (
            f"EXISTS (SELECT 1 FROM {source}) AND NOT ({match_sql})",
            [*params, *match_params],
        )
    condition, values = _condition(term.op, term.value)
    return f"EXISTS (SELECT 1 FROM {source} WHERE {condition})", [*params, *values]


def _elements(path: AttrPath) -> SQL:
    """FROM clause yielding `v`: every element of the value the path names, in any instance."""
    attr = json_path("attrs", path.attr)
    subs, member = path.sub, None
    if subs and subs[-1] in RESERVED_MEMBERS:
        subs, member = subs[:-1], subs[-1]
    inst = f"json_extract(i.value, '{_literal_path(subs)}')" if subs else "i.value"
    if member is not None:
        return f"json_each(e.doc, ?) i, json_each({inst}, ?) v", [attr, json_path(member)]
    value_member = _VALUE_MEMBER.format(inst=inst)
    compound = "".join('."' + m.replace('"', "") + '"' for m in path.compound)
    return (
        f"json_each(e.doc, ?) i, json_each({inst}, {value_member} || ?) v",
        [attr, compound],
    )


def _literal_path(steps: tuple[str, ...]) -> str:
    return json_path(*steps).replace("'", "''")


def _condition(op: str, value: Literal | tuple[Literal, ...] | Range) -> SQL:
    if op == "~=":
        return "v.type = 'text' AND REGEXP(?, v.atom)", [value]
    if isinstance(value, tuple):
        parts = [_condition("==", item) for item in value]
        return " OR ".join(f"({sql})" for sql, _ in parts), [p for _, ps in parts for p in ps]
    if isinstance(value, Range):
        kind, _ = _kind(value.low)
        return f"{kind} AND v.atom BETWEEN ? AND ?", [value.low, value.high]
    kind, atom = _kind(value)
    if isinstance(value, bool):
        return kind, []
    return f"{kind} AND v.atom {_COMPARE[op]} ?", [atom]


def _kind(value: Literal) -> tuple[str, Any]:
    """The JSON kind a literal compares with, as a condition on `v`, and its SQL value."""
    if isinstance(value, bool):
        return f"v.type = '{'true' if value else 'false'}'", None
    if isinstance(value, int | float):
        return "v.type IN ('integer', 'real')", value
    return "v.type = 'text'", value


def compile_types(expr: TypeExpr, tenant: str) -> SQL:
    """Entities having all types of at least one group."""
    groups, params = [], []
    for group in expr:
        terms = []
        for entity_type in group:
            terms.append(
                "e.rowid IN (SELECT entity FROM entity_types WHERE tenant = ? AND type = ?)"
            )
            params.extend([tenant, entity_type])
        groups.append(" AND ".join(terms))
    return " OR ".join(f"({g})" for g in groups), params


def compile_scope(expr: ScopeExpr) -> SQL:
    """Entities whose scopes match all patterns of at least one group (4.19)."""
    groups, params = [], []
    for group in expr:
        terms = []
        for pattern in group:
            sql, values = _scope_match(pattern)
            terms.append(f"EXISTS (SELECT 1 FROM json_each(e.doc, '$.scope') s WHERE {sql})")
            params.extend(values)
        groups.append(" AND ".join(terms))
    return " OR ".join(f"({g})" for g in groups), params


def _scope_match(pattern: str) -> SQL:
    if pattern == "/#":
        return "1", []
    if pattern.endswith("/#"):
        base = pattern[:-2]
        return "(s.value = ? OR substr(s.value, 1, ?) = ?)", [base, len(base) + 1, base + "/"]
    if pattern.endswith("/+"):
        base = pattern[:-2] + "/"
        return (
            "substr(s.value, 1, ?) = ? AND length(s.value) > ? "
            "AND instr(substr(s.value, ?), '/') = 0",
            [len(base), base, len(base), len(base) + 1],
        )
    return "s.value = ?", [pattern]
