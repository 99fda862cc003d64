"""What differs between the SQL of the embedded (SQLite) and the PostgreSQL store, so that
one piece of code can build the statements both run.

A `Dialect` says how to write a parameter (`?` or `%s`, with a cast where PostgreSQL needs
one), a test of a column against a list of values (`IN (?, ?)` with one parameter a value,
or `= ANY(%s)` with the list as one parameter), the constants true and false, and the few
other spellings the shared builders use. `Sql` collects conditions joined by AND.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(frozen=True, slots=True)
class Dialect:
    """How one backend spells what the shared SQL builders write."""

    mark: str
    """The parameter placeholder."""
    true: str
    false: str
    arrays: bool
    """Whether a list of values goes as one (array) parameter: `= ANY(%s)`."""
    int_cast: str = ""
    """Appended to a parameter compared with a BIGINT column."""
    json_cast: str = ""
    """Appended to a parameter written to a JSON document column."""
    collate: str = ""
    """Appended to a text column ordered by code points."""
    json_path_prefix: str = ""
    """Before a top-level key in `doc ->> '…'`."""

    def param(self, cast: str | None = None) -> str:
        """A parameter placeholder, with `cast` where the dialect needs one (`int`, `json`)."""
        return self.mark + {"int": self.int_cast, "json": self.json_cast}.get(cast or "", "")

    def in_list(self, column: str, values: Sequence[Any]) -> tuple[str, list[Any]]:
        """`column` is one of `values` (false when there are none), with its parameters."""
        if not values:
            return self.false, []
        if self.arrays:
            return f"{column} = ANY({self.mark})", [list(values)]
        return f"{column} IN ({','.join(self.mark * len(values))})", list(values)

    def regexp(self, column: str) -> str:
        """`column` matches the regular expression given as a parameter."""
        if self.arrays:
            return f"{column} ~ {self.mark}"
        return f"REGEXP({self.mark}, {column})"

    def is_(self, column: str) -> str:
        """`column` equals the parameter, NULL equal to NULL."""
        return f"{column} IS {'NOT DISTINCT FROM ' if self.arrays else ''}{self.mark}"

    def json_text(self, column: str, key: str) -> str:
        """The top-level `key` of the JSON document `column`, as text."""
        return f"{column} ->> '{self.json_path_prefix}{key}'"


SQLITE = Dialect(mark="?", true="1", false="0", arrays=False, json_path_prefix="$.")
POSTGRES = Dialect(
    mark="%s",
    true="true",
    false="false",
    arrays=True,
    int_cast="::bigint",
    json_cast="::jsonb",
    collate=' COLLATE "C"',
)


@dataclass(slots=True)
class Sql:
    """Conditions joined by AND, with their parameters in order."""

    dialect: Dialect
    clauses: list[str]
    params: list[Any]

    def add(self, clause: str, *params: Any) -> None:
        self.clauses.append(clause)
        self.params.extend(params)

    def add_part(self, part: tuple[str, Sequence[Any]]) -> None:
        """Add a condition built elsewhere, with its parameters."""
        self.add(part[0], *part[1])

    @property
    def where(self) -> str:
        return " AND ".join(f"({c})" for c in self.clauses) or self.dialect.true


class SqlStore(Protocol):
    """What the shared SQL companions (devices, keys, rules…) need of either store: a
    connection to read with, and one write transaction under the store's writer lock."""

    def reading(self) -> AbstractContextManager[Any]: ...

    def transaction(self) -> AbstractContextManager[Any]: ...
