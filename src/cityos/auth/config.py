"""How a server authenticates: what `cityos serve --auth required …` configures."""

from __future__ import annotations

from dataclasses import dataclass

from cityos.auth.oidc import OidcSettings


@dataclass(frozen=True, slots=True)
class AuthSettings:
    """Authentication is required; these say what else than an API key is accepted."""

    oidc: OidcSettings | None = None
    """Bearer tokens of this identity provider; None: API keys only."""
    public_types: frozenset[str] = frozenset()
    """Entity types anyone may read without credentials (short names or IRIs)."""
