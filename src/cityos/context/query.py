"""The NGSI-LD query language (ETSI GS CIM 009, 4.9), scopeQ (4.19) and the `type` expression.

Parsing yields a small immutable syntax tree with the names exactly as the client wrote
them; `expand_q` then swaps every attribute name for its IRI, so that `store/` compiles a
tree of full names into its own query language.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Union

Literal = Union[str, int, float, bool, None]


@dataclass(frozen=True, slots=True)
class AttrPath:
    """`attr.sub1.sub2[compound.member]`: an attribute, sub-attributes, then members of its value."""

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
    """One term of a query: `path op value`, or only `path` (op None) to test existence."""

    path: AttrPath
    op: str | None = None
    value: Literal | tuple[Literal, ...] | Range = None


@dataclass(frozen=True, slots=True)
class And:
    items: tuple[QNode, ...]


@dataclass(frozen=True, slots=True)
class Or:
    items: tuple[QNode, ...]


QNode = Union[Comparison, And, Or]

TypeExpr = tuple[tuple[str, ...], ...]
"""A `type` parameter in disjunctive normal form: any of the groups, each needing all its types."""

ScopeExpr = tuple[tuple[str, ...], ...]
"""A scopeQ in disjunctive normal form: any of the groups, each needing all its scope patterns."""
