"""The `RuleStore` protocol: rule definitions and each rule's per-entity episode state.

Both are persisted so that rules posted through the API survive a restart and, above all,
so that a restart never fires an episode twice: the episode number and the actions still
owed for it are in the store before any action runs.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol


@dataclass(slots=True)
class StoredRule:
    """A rule as its author wrote it (`doc`, short names and its own @context)."""

    tenant: str
    id: str
    doc: dict[str, Any]
    created_at: str
    modified_at: str
    version: int = 0
    """Bumped by every `put_rule`: state saved for an older version is ignored."""
    fired: int = 0
    last_fired: float | None = None
    """Seconds since 1970."""


@dataclass(slots=True)
class RuleState:
    """Where one (rule, entity) pair is in its episodes."""

    tenant: str
    rule: str
    entity: str
    version: int = 0
    armed: bool = True
    """False from a firing until the condition clears: only an armed pair can fire."""
    since: float | None = None
    """When the condition became true in the current episode; None while it is false."""
    fired_at: float | None = None
    episode: int = 0
    """How many episodes have fired (the number of the last one)."""
    owed: int = 0
    """The episode whose actions have not all run yet (0: none): re-run after a crash."""


Fired = tuple[str, str, int, float]
"""(tenant, rule id, rule version, when): one firing, counted in the rule's statistics."""


class RuleStore(Protocol):
    def put_rule(self, rule: StoredRule) -> int:
        """Insert or replace a rule; replacing forgets its states and counters.

        Returns the new version (also set on `rule`).
        """
        ...

    def get_rule(self, tenant: str, rule_id: str) -> StoredRule | None: ...

    def list_rules(self, tenant: str | None = None) -> list[StoredRule]:
        """One tenant's rules in creation order, or every tenant's (None)."""
        ...

    def delete_rule(self, tenant: str, rule_id: str) -> bool:
        """Delete a rule and its states; False when there was none."""
        ...

    def rule_states(self, tenant: str | None = None) -> list[RuleState]:
        """The states of one tenant's rules, or of all (None)."""
        ...

    def save_states(self, states: Sequence[RuleState], fired: Sequence[Fired] = ()) -> None:
        """Upsert states and count firings in one transaction, skipping those whose rule
        is gone or has a newer version."""
        ...

    def settle(self, state: RuleState, episode: int) -> None:
        """The actions of `episode` have run: it is no longer owed."""
        ...

    def load_rules(self, rules: Sequence[StoredRule], states: Sequence[RuleState]) -> None:
        """Write rules (after the existing ones, in this order) and states exactly as given:
        versions, counters and episodes kept (a migration restoring them)."""
        ...
