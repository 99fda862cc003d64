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

from cityos.context.errors import BadRequestData
from cityos.context.query import (
    ANY_LANGUAGE,
    RESERVED_MEMBERS,
    AttrPath,
    Literal,
    TypeExpr,
)
from cityos.store.filters_sql import SQL, FilterCompiler
from cityos.store.sql_dialect import SQLITE

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


class _SQLiteFilters(FilterCompiler):
    dialect = SQLITE
    scope_text = "s.value"
    scope_exists = (
        "EXISTS (SELECT 1 FROM json_each(e.doc, '$.scope') s WHERE s.type = 'text' AND {sql})"
    )
    text_atom = "X_.type = 'text'"

    def has_attr(self, attr: str) -> SQL:
        return "json_type(e.doc, ?) IS NOT NULL", [json_path("attrs", attr)]

    def target(self, path: AttrPath) -> _Target:
        return _Target(path)

    def atom_matches(self) -> str:
        return "X_.type = 'text' AND REGEXP(?, X_.atom)"

    def atom_test(self, value: Literal, test: str) -> str:
        return f"{_kind(value)} AND X_.atom " + test.format(*(["?"] * test.count("{}")))

    def atom_is_bool(self, value: bool) -> str:
        return _kind(value)

    def kind_is(self, kind: str, value: str, negate: bool = False) -> str:
        return f"{kind} {'IS NOT' if negate else '='} '{value}'"

    def prefix(self, text: str) -> str:
        return f"substr({text}, 1, ?)"


FILTERS = _SQLiteFilters()
compile_q = FILTERS.compile_q
compile_scope = FILTERS.compile_scope
