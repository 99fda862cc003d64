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

from cityos.context.errors import BadRequestData
from cityos.context.query import (
    ANY_LANGUAGE,
    RESERVED_MEMBERS,
    AttrPath,
    Literal,
    TypeExpr,
)
from cityos.store.filters_sql import SQL, FilterCompiler
from cityos.store.sql_dialect import POSTGRES

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


class _PostgresFilters(FilterCompiler):
    dialect = POSTGRES
    scope_text = "(s.v #>> '{}')"
    scope_exists = (
        "EXISTS (SELECT 1 FROM jsonb_array_elements(CASE jsonb_typeof(e.doc -> 'scope') "
        "WHEN 'array' THEN e.doc -> 'scope' WHEN 'string' THEN "
        "jsonb_build_array(e.doc -> 'scope') ELSE '[]'::jsonb END) s(v) "
        "WHERE jsonb_typeof(s.v) = 'string' AND {sql})"
    )
    text_atom = "jsonb_typeof(X_) = 'string'"

    def has_attr(self, attr: str) -> SQL:
        return "(e.doc -> 'attrs') ? %s", [_step(attr)]

    def target(self, path: AttrPath) -> _Target:
        return _Target(path)

    def atom_matches(self) -> str:
        return _text("X_ ~ %s")

    def atom_test(self, value: Literal, test: str) -> str:
        return _typed(value, test)

    def atom_is_bool(self, value: bool) -> str:
        return f"X_ = '{'true' if value else 'false'}'::jsonb"

    def kind_is(self, kind: str, value: str, negate: bool = False) -> str:
        return f"{kind} IS {'' if negate else 'NOT '}DISTINCT FROM '{value}'"

    def prefix(self, text: str) -> str:
        return f"left({text}, %s)"


FILTERS = _PostgresFilters()
compile_q = FILTERS.compile_q
compile_scope = FILTERS.compile_scope
