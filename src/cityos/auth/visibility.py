"""What of a tenant's data a principal reads: the object rules of policy.py as one plain
value, which every read applies the same way whatever surface it came through.

The API makes one `Visibility` per request (api/http.py `visibility_of`) and hands it down:
entity queries and retrievals, the batch query, the temporal API, subscription streams,
`/governance` and Open311 reads all narrow with it, so a department that cannot see a case
in `/governance` cannot see it anywhere else either. Hidden means absent: a retrieval
answers 404, a query leaves it out, as if it did not exist.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from cityos.auth.policy import case_departments, visible_types
from cityos.auth.principal import Principal, RoleKind
from cityos.context.entity import Entity
from cityos.context.query import And, AttrPath, Comparison, Or, QNode
from cityos.governance.entity import CASE_TYPE, term
from cityos.governance.model import CaseFilter
from cityos.store.base import EntityQuery

DEPARTMENT = term("department")
NO_TYPE = "urn:cityos:no-type"
"""A type no entity has: what a query of only invisible types asks for."""


@dataclass(frozen=True, slots=True)
class Visibility:
    """The entity types and the cases a principal reads; None: no limit."""

    types: frozenset[str] | None = None
    """Expanded entity types the principal reads (anonymous callers: the public ones)."""
    departments: frozenset[str] | None = None
    """The departments whose cases the principal reads (a department role: its own)."""

    def sees_case(self, department: str | None) -> bool:
        return self.departments is None or department in self.departments

    def sees(self, entity: Entity) -> bool:
        if self.types is not None and not any(t in self.types for t in entity.types):
            return False
        if self.departments is not None and CASE_TYPE in entity.types:
            found = entity.instance(DEPARTMENT)
            return self.sees_case(found.get("value") if found else None)
        return True

    def may_match_cases(self, types: Iterable[str] | None) -> bool:
        """Whether a selection of these entity types (None: any type) can hold a case
        this principal must not see."""
        if self.departments is None:
            return False
        return types is None or CASE_TYPE in types

    def narrow(self, query: EntityQuery) -> None:
        """`query` narrowed to what the principal sees, in place.

        Cases of other departments are left out by a condition on `department` that the
        stores evaluate like any q: entities without the attribute pass, those with it pass
        when it names one of the principal's departments. A query that can return cases
        gets it, so it also hides other entities carrying a foreign `department` (never
        more than the principal may see: the filter errs on the side of hiding).
        """
        if self.types is not None:
            if query.types is None:
                query.types = tuple((t,) for t in sorted(self.types)) or ((NO_TYPE,),)
            else:
                groups = tuple(g for g in query.types if any(t in self.types for t in g))
                query.types = groups or ((NO_TYPE,),)
        groups_types = None if query.types is None else {t for g in query.types for t in g}
        if not self.may_match_cases(groups_types):
            return
        assert self.departments is not None
        own: tuple[Comparison, ...] = tuple(
            Comparison(AttrPath(DEPARTMENT), "==", d) for d in sorted(self.departments)
        )
        rule: QNode = Or((Comparison(AttrPath(DEPARTMENT), "!"), *own))
        query.q = rule if query.q is None else And((query.q, rule))

    def narrow_cases(self, selection: CaseFilter) -> CaseFilter | None:
        """The case selection within the principal's departments; None when nothing can be
        left."""
        if self.departments is None:
            return selection
        wanted = (
            self.departments
            if selection.departments is None
            else self.departments & set(selection.departments)
        )
        if not wanted:
            return None
        selection.departments = sorted(wanted)
        return selection


EVERYTHING = Visibility()
"""No limit: authentication off, or a principal that reads everything."""


def visibility(principal: Principal | None, public_types: Iterable[str] = ()) -> Visibility:
    """What `principal` reads; `public_types` (expanded) are what anonymous callers see."""
    if principal is None:
        return EVERYTHING
    types = visible_types(principal, public_types)
    # The department rule narrows department roles; the others' reach is the matrix's (a
    # citizen reads Open311's public face of every request, and no /governance at all).
    departments = case_departments(principal) if principal.has(RoleKind.DEPARTMENT) else None
    return Visibility(types, departments)
