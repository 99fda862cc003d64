"""The query language, scopeQ and type expressions compiled to SQLite conditions on `e`.

An attribute is a JSON array of instances in `entities.doc` at `$.attrs."<IRI>"`. A term
holds when any instance holds it (4.9: "the target value shall be any Value of such
instances"). Per instance, the target is the member the attribute type carries (`value`,
`object`, `languageMap`, `vocab`, `valueList`, `objectList`, `json`), or a reserved member
such as `observedAt`, followed into a compound value by `[a.b]`. The target's *atoms* are
the scalars compared: the target itself, the elements of an array, the `@value` of a
value object, the `object` of each objectList item and every text of a languageMap.

Atoms are compared only with literals of their own JSON kind, since SQLite would otherwise
order every number before every string and answer `temperature > 20` for the text "hot".

Every IRI and path is bound as a parameter, never spliced into the SQL text.
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

_COMPARE = {"==": "=", ">": ">", ">=": ">=", "<": "<", "<=": "<="}
_CONTAINER = "('array','object')"
_VALUE_PATH = (
    "CASE {kind} WHEN 'Relationship' THEN '$.object' "
    "WHEN 'LanguageProperty' THEN '$.languageMap' WHEN 'VocabProperty' THEN '$.vocab' "
    "WHEN 'ListProperty' THEN '$.valueList' WHEN 'ListRelationship' THEN '$.objectList' "
    "WHEN 'JsonProperty' THEN '$.json' ELSE '$.value' END"
)
_UNWRAP = (
    "CASE {kind} WHEN 'ListRelationship' THEN 'object' "
    "WHEN 'JsonProperty' THEN NULL ELSE '@value' END"
)
"""The member of an object atom that holds the value: `{"@value": ...}`, `{"object": ...}`."""
_RELATIONSHIPS = "('Relationship','ListRelationship')"


def json_path(*steps: str) -> str:
    """A JSON path with every step quoted, so IRIs with ':' '/' '#' '.' are safe."""
    for step in steps:
        if '"' in step:
            raise BadRequestData(f"The name {step!r} cannot be queried: it contains '\"'.")
    return "$" + "".join(f'."{step}"' for step in steps)


def compile_q(node: QNode) -> SQL:
    """An SQL condition on entity `e` for a parsed, expanded q."""
    if isinstance(node, Comparison):
        return _comparison(node)
    parts = [compile_q(item) for item in node.items]
    joiner = " AND " if isinstance(node, And) else " OR "
    return joiner.join(f"({sql})" for sql, _ in parts), [p for _, params in parts for p in params]


class _Target:
    """The rows of one path: `i` an attribute instance, `r` the target in it (one row each).

    `r.type` is 'null' when the instance lacks the target; `kind` is the instance's type.
    """

    def __init__(self, path: AttrPath) -> None:
        self.params: list[object] = [json_path("attrs", path.attr)]
        subs, self.member = path.sub, None
        if subs and subs[-1] in RESERVED_MEMBERS:
            subs, self.member = subs[:-1], subs[-1]
        sources = ["json_each(e.doc, ?) i"]
        inst = "i.value"
        if subs:
            sources.append("json_each(json_array(i.value -> ?)) s")
            self.params.append(json_path(*subs))
            inst = "s.value"
        self.kind = f"({inst} ->> '$.type')"
        if self.member is not None:
            sources.append(f"json_each(json_array({inst} -> ?)) r")
            self.params.append(json_path(self.member))
        else:
            compound = () if path.compound == ANY_LANGUAGE else path.compound
            value_path = _VALUE_PATH.format(kind=self.kind)
            sources.append(f"json_each(json_array({inst} -> ({value_path} || ?))) r")
            self.params.append(json_path(*compound)[1:])
        self.sources = ", ".join(sources)
        self.unwrap = "'@value'" if self.member else _UNWRAP.format(kind=self.kind)
        whole_map = self.member is None and path.compound in ((), ANY_LANGUAGE)
        self.lang = f"{self.kind} = 'LanguageProperty'" if whole_map else "0"

    def exists(self, where: str = "", params: list[object] | None = None) -> SQL:
        """Some instance has the target and satisfies `where`."""
        condition = f"r.type <> 'null' AND ({where})" if where else "r.type <> 'null'"
        return (
            f"EXISTS (SELECT 1 FROM {self.sources} WHERE {condition})",
            [*self.params, *(params or [])],
        )

    def not_relationship(self) -> str:
        """4.9: a Relationship target matches no operator but == and !=."""
        return "1" if self.member else f"{self.kind} NOT IN {_RELATIONSHIPS}"

    def any_atom(self, condition: SQL) -> SQL:
        """Some atom of the target `r` satisfies `condition` (written over the alias `X_`)."""
        on_r, on_a, on_b = (_alias(condition[0], alias) for alias in ("r", "a", "b"))
        sql = (
            f"(r.type NOT IN {_CONTAINER} AND {on_r}) OR (r.type IN {_CONTAINER} AND EXISTS ("
            f"SELECT 1 FROM json_each(CASE WHEN r.type IN {_CONTAINER} THEN r.value "
            "ELSE '[]' END) a WHERE "
            f"(a.type NOT IN {_CONTAINER} AND (r.type = 'array' OR a.key = {self.unwrap} "
            f"OR {self.lang}) AND {on_a}) "
            f"OR (a.type IN {_CONTAINER} AND EXISTS (SELECT 1 FROM json_each("
            f"CASE WHEN a.type IN {_CONTAINER} THEN a.value ELSE '[]' END) b "
            f"WHERE b.type NOT IN {_CONTAINER} AND ((a.type = 'object' AND r.type = 'array' "
            f"AND b.key = {self.unwrap}) OR (a.type = 'array' AND {self.lang})) AND {on_b}))))"
        )
        return sql, condition[1] * 3


def _alias(sql: str, alias: str) -> str:
    return sql.replace("X_.", f"{alias}.")


def _comparison(term: Comparison) -> SQL:
    path = term.path
    if term.op in (None, "!") and not path.sub and not path.compound:
        sql = "json_type(e.doc, ?) IS NOT NULL"
        params: list[object] = [json_path("attrs", path.attr)]
        return (sql if term.op is None else f"NOT ({sql})"), params
    target = _Target(path)
    if term.op is None:
        return target.exists()
    if term.op == "!":
        sql, params = target.exists()
        return f"NOT {sql}", params
    if term.op in PATTERN_OPS:
        assert isinstance(term.value, str)
        match, match_params = target.any_atom(
            ("X_.type = 'text' AND REGEXP(?, X_.atom)", [term.value])
        )
        if term.op == "~=":
            return target.exists(f"{target.not_relationship()} AND ({match})", match_params)
        text, text_params = target.any_atom(("X_.type = 'text'", []))
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
    """The atom `x` equals the value, is in the list or the range (for == and for !=)."""
    plain = _equals(term.value)
    if term.vocab_value is None or target.member is not None:
        return plain
    vocab = _equals(term.vocab_value)
    return (
        f"(({target.kind} = 'VocabProperty' AND ({vocab[0]})) "
        f"OR ({target.kind} IS NOT 'VocabProperty' AND ({plain[0]})))",
        [*vocab[1], *plain[1]],
    )


def _equals(value: Literal | tuple[Literal, ...] | Range) -> SQL:
    if isinstance(value, tuple):
        parts = [_equals(item) for item in value]
        return " OR ".join(f"({sql})" for sql, _ in parts), [p for _, ps in parts for p in ps]
    if isinstance(value, Range):
        return f"{_kind(value.low)} AND X_.atom BETWEEN ? AND ?", [value.low, value.high]
    if isinstance(value, bool):
        return _kind(value), []
    return f"{_kind(value)} AND X_.atom = ?", [value]


def _order(term: Comparison) -> SQL:
    value = term.value
    if isinstance(value, tuple | Range | bool) or value is None or term.op not in _COMPARE:
        raise BadRequestData(f"{term.op} cannot compare with {value!r}.")
    return f"{_kind(value)} AND X_.atom {_COMPARE[term.op]} ?", [value]


def _kind(value: Literal) -> str:
    """The JSON kind an atom `x` needs to compare with `value`."""
    if isinstance(value, bool):
        return f"X_.type = '{'true' if value else 'false'}'"
    if isinstance(value, int | float):
        return "X_.type IN ('integer','real')"
    return "X_.type = 'text'"


def compile_types(expr: TypeExpr, tenant: str, *, driving: bool = True) -> SQL:
    """Entities having all types of at least one group.

    Driving (`rowid IN (...)`), the planner can start from the (tenant, type) index and
    fetch only the entities of a rare type. Not driving (a correlated EXISTS), each row is
    checked against that index, so that another filter, the R*Tree, chooses the rows.
    """
    test = (
        "e.rowid IN (SELECT entity FROM entity_types WHERE tenant = ? AND type = ?)"
        if driving
        else "EXISTS (SELECT 1 FROM entity_types t "
        "WHERE t.tenant = ? AND t.type = ? AND t.entity = e.rowid)"
    )
    groups: list[str] = []
    params: list[object] = []
    for group in expr:
        groups.append(" AND ".join([test] * len(group)))
        for entity_type in group:
            params.extend([tenant, entity_type])
    return " OR ".join(f"({g})" for g in groups) or "0", params


def compile_scope(expr: ScopeExpr) -> SQL:
    """Entities whose scopes match all patterns of at least one group (4.19)."""
    groups: list[str] = []
    params: list[object] = []
    for group in expr:
        terms = []
        for pattern in group:
            sql, values = _scope_match(pattern)
            terms.append(
                "EXISTS (SELECT 1 FROM json_each(e.doc, '$.scope') s "
                f"WHERE s.type = 'text' AND {sql})"
            )
            params.extend(values)
        groups.append(" AND ".join(terms))
    return " OR ".join(f"({g})" for g in groups) or "0", params


def _scope_match(pattern: str) -> SQL:
    """One scope pattern as a condition on `s.value`."""
    if pattern == "/#":
        return "1", []
    below = pattern.endswith("/#")
    base = pattern[:-2] if below else pattern
    levels = base[1:].split("/")
    if "+" in levels:
        regex = "".join("/[^/]+" if level == "+" else "/" + re.escape(level) for level in levels)
        return "REGEXP(?, s.value)", [f"^{regex}{'(?:/.*)?' if below else ''}\\Z"]
    if below:
        return "(s.value = ? OR substr(s.value, 1, ?) = ?)", [base, len(base) + 1, base + "/"]
    return "s.value = ?", [pattern]
