"""Regular expressions that clients send (idPattern, q's `~=`, scopeQ's `+`) run on RE2.

Python's `re` backtracks: `(.*){8}!` against a 40-character id takes minutes, and a query,
a subscription or a rule holding it would stall the whole server. RE2 matches in time
linear in the text and bounds its own memory (`max_mem`), at the price of the features
that need backtracking (backreferences, lookaround), which it refuses at compile time: the
client gets a 400 naming the problem instead of a frozen broker. The PostgreSQL store
evaluates patterns with its own engine, but only ones RE2 accepted, so both stores take
the same language (docs/security.md, "Regular expressions and the event loop").
"""

from __future__ import annotations

from functools import lru_cache
from typing import TYPE_CHECKING, Any

import re2

from cityos.context.errors import BadRequestData

MAX_PATTERN_MEMORY = 8 << 20
"""Bytes RE2 may spend on one compiled pattern (its default); larger programs are refused."""

_OPTIONS = re2.Options()
_OPTIONS.max_mem = MAX_PATTERN_MEMORY
_OPTIONS.log_errors = False  # a client's mistake is its 400, not a line on stderr

if TYPE_CHECKING:
    Pattern = re2._Regexp[str]
else:
    Pattern = Any


class PatternError(BadRequestData):
    """A pattern RE2 cannot compile: not valid, or using a feature linear time excludes."""


@lru_cache(maxsize=1024)
def _compiled(pattern: str) -> Pattern:
    return re2.compile(pattern, _OPTIONS)


def compile_pattern(pattern: str, what: str = "The regular expression") -> Pattern:
    """`pattern` compiled by RE2, or PatternError (400) saying why it cannot be."""
    try:
        return _compiled(pattern)
    except re2.error as error:
        raise PatternError(f"{what} '{pattern[:200]}{_ellipsis(pattern)}' {_why(error)}") from None


def search(pattern: str, text: str) -> bool:
    """Whether `pattern` (already accepted by `compile_pattern`) matches inside `text`."""
    try:
        return _compiled(pattern).search(text) is not None
    except re2.error:
        return False


def _why(error: re2.error) -> str:
    reason = error.args[0] if error.args else ""
    if isinstance(reason, bytes):
        reason = reason.decode("utf-8", "replace")
    return (
        f"is not a regular expression RE2 accepts ({reason or error}): patterns run in "
        "linear time, without backreferences or lookaround."
    )


def _ellipsis(pattern: str) -> str:
    return "…" if len(pattern) > 200 else ""
