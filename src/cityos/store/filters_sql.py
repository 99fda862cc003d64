"""The compilation of q and scopeQ both SQL stores share, written once over a `Dialect`.

`FilterCompiler` holds the rules (read `sqlite_filters` for them): which operators test
presence, patterns, equality (vocab values included) and order, and how scope patterns
match. A backend gives how an attribute path reaches its target and its atoms (`target`),
and how one atom is tested against a literal of its own JSON kind; conditions on an atom
are written over the placeholder `X_`.
"""

from __future__ import annotations

import re
from typing import Protocol

from cityos.context.errors import BadRequestData
from cityos.context.query import (
    PATTERN_OPS,
    And,
    AttrPath,
    Comparison,
    Literal,
    QNode,
    Range,
    ScopeExpr,
)
from cityos.store.sql_dialect import Dialect

SQL = tuple[str, list[object]]

COMPARE = {"==": "=", ">": ">", ">=": ">=", "<": "<", "<=": "<="}


class Target(Protocol):
    """The rows of one attribute path in a backend: instances, the target in each, atoms."""

    kind: str
    """The instance's type, as SQL."""
    member: str | None
    """The reserved member the path ends in, if any."""

    def exists(self, where: str = "", params: list[object] | None = None) -> SQL: ...

    def not_relationship(self) -> str: ...

    def any_atom(self, condition: SQL) -> SQL: ...


class FilterCompiler:
    """q and scopeQ to SQL conditions on entity `e`, in one backend's SQL."""

    dialect: Dialect
    scope_text: str
    """The text of one scope of `e`, inside `scope_exists`."""
    scope_exists: str
    """`EXISTS` over the scopes of `e` that are texts, with `{sql}` for the condition."""
    text_atom: str
    """The atom `X_` is a text."""

    # -- what a backend gives ------------------------------------------------------------

    def has_attr(self, attr: str) -> SQL:
        """`e` has the attribute `attr`."""
        raise NotImplementedError

    def target(self, path: AttrPath) -> Target:
        raise NotImplementedError

    def atom_matches(self) -> str:
        """The atom `X_` is a text matching the regular expression parameter."""
        raise NotImplementedError

    def atom_test(self, value: Literal, test: str) -> str:
        """`X_ <test>` (with `{}` for each parameter) for atoms of the JSON kind of `value`."""
        raise NotImplementedError

    def atom_is_bool(self, value: bool) -> str:
        """The atom `X_` is the JSON boolean `value`."""
        raise NotImplementedError

    def kind_is(self, kind: str, value: str, negate: bool = False) -> str:
        """The SQL `kind` (NULL when unknown) is the text `value` (or, negated, is not)."""
        raise NotImplementedError

    def prefix(self, text: str) -> str:
        """The first (parameter) characters of `text`."""
        raise NotImplementedError

    # -- q -------------------------------------------------------------------------------

    def compile_q(self, node: QNode) -> SQL:
        """An SQL condition on entity `e` for a parsed, expanded q."""
        if isinstance(node, Comparison):
            return self._comparison(node)
        parts = [self.compile_q(item) for item in node.items]
        joiner = " AND " if isinstance(node, And) else " OR "
        return joiner.join(f"({sql})" for sql, _ in parts), [p for _, ps in parts for p in ps]

    def _comparison(self, term: Comparison) -> SQL:
        path = term.path
        if term.op in (None, "!") and not path.sub and not path.compound:
            sql, params = self.has_attr(path.attr)
            return (sql if term.op is None else f"NOT ({sql})"), params
        target = self.target(path)
        if term.op is None:
            return target.exists()
        if term.op == "!":
            sql, params = target.exists()
            return f"NOT {sql}", params
        if term.op in PATTERN_OPS:
            assert isinstance(term.value, str)
            match, match_params = target.any_atom((self.atom_matches(), [term.value]))
            if term.op == "~=":
                return target.exists(f"{target.not_relationship()} AND ({match})", match_params)
            text, text_params = target.any_atom((self.text_atom, []))
            return target.exists(
                f"{target.not_relationship()} AND ({text}) AND NOT ({match})",
                [*text_params, *match_params],
            )
        condition = self._equality(term, target) if term.op in ("==", "!=") else self._order(term)
        match, match_params = target.any_atom(condition)
        if term.op == "!=":
            return target.exists(f"NOT ({match})", match_params)
        if term.op == "==":
            return target.exists(match, match_params)
        return target.exists(f"{target.not_relationship()} AND ({match})", match_params)

    def _equality(self, term: Comparison, target: Target) -> SQL:
        """The atom equals the value, is in the list or the range (for == and for !=)."""
        plain = self._equals(term.value)
        if term.vocab_value is None or target.member is not None:
            return plain
        vocab = self._equals(term.vocab_value)
        return (
            f"(({self.kind_is(target.kind, 'VocabProperty')} AND ({vocab[0]})) "
            f"OR ({self.kind_is(target.kind, 'VocabProperty', negate=True)} AND ({plain[0]})))",
            [*vocab[1], *plain[1]],
        )

    def _equals(self, value: Literal | tuple[Literal, ...] | Range) -> SQL:
        if isinstance(value, tuple):
            parts = [self._equals(item) for item in value]
            return " OR ".join(f"({sql})" for sql, _ in parts), [p for _, ps in parts for p in ps]
        if isinstance(value, Range):
            return self.atom_test(value.low, "BETWEEN {} AND {}"), [value.low, value.high]
        if isinstance(value, bool):
            return self.atom_is_bool(value), []
        return self.atom_test(value, "= {}"), [value]

    def _order(self, term: Comparison) -> SQL:
        value = term.value
        if isinstance(value, tuple | Range | bool) or value is None or term.op not in COMPARE:
            raise BadRequestData(f"{term.op} cannot compare with {value!r}.")
        return self.atom_test(value, f"{COMPARE[term.op]} {{}}"), [value]

    # -- scopeQ --------------------------------------------------------------------------

    def compile_scope(self, expr: ScopeExpr) -> SQL:
        """Entities whose scopes match all patterns of at least one group (4.19)."""
        groups: list[str] = []
        params: list[object] = []
        for group in expr:
            terms = []
            for pattern in group:
                sql, values = self._scope_match(pattern)
                terms.append(self.scope_exists.format(sql=sql))
                params.extend(values)
            groups.append(" AND ".join(terms))
        return " OR ".join(f"({g})" for g in groups) or self.dialect.false, params

    def _scope_match(self, pattern: str) -> SQL:
        """One scope pattern as a condition on the scope `scope_text`."""
        text, p = self.scope_text, self.dialect.param()
        if pattern == "/#":
            return self.dialect.true, []
        below = pattern.endswith("/#")
        base = pattern[:-2] if below else pattern
        levels = base[1:].split("/")
        if "+" in levels:
            regex = "".join(
                "/[^/]+" if level == "+" else "/" + re.escape(level) for level in levels
            )
            return self.dialect.regexp(text), [f"^{regex}{'(?:/.*)?' if below else ''}$"]
        if below:
            return f"({text} = {p} OR {self.prefix(text)} = {p})", [base, len(base) + 1, base + "/"]
        return f"{text} = {p}", [pattern]
