"""OAuth2 / OpenID Connect bearer tokens, validated offline against a JWKS file.

No network: the identity provider's keys are a file the operator saves (its jwks_uri), so
a request never waits on the provider and an outage there costs nothing until keys
rotate. The algorithm comes from the key, never from the token: a token saying `none`,
or HS256 (signed with the public key as an HMAC secret, the classic confusion), is refused.
Roles come from a claim (default `roles`; Keycloak's `realm_access.roles` too); tenants
from another (default `tenants`; none: every tenant).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt

from cityos.auth.principal import ALL_TENANTS, Method, Principal, RoleError, parse_role

ASYMMETRIC = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)
DEFAULT_ALG = {"RSA": "RS256", "EC": "ES256", "OKP": "EdDSA"}
LEEWAY_S = 30


class TokenError(ValueError):
    """A token that does not authenticate anyone; the message says why (for the log)."""


@dataclass(frozen=True, slots=True)
class OidcSettings:
    jwks: Path
    issuer: str
    audience: str | None = None
    roles_claim: str = "roles"
    tenants_claim: str = "tenants"


def _claim(claims: dict[str, Any], path: str) -> Any:
    """A claim by dotted path (`realm_access.roles`)."""
    value: Any = claims
    for part in path.split("."):
        value = value.get(part) if isinstance(value, dict) else None
    return value


class TokenValidator:
    """Validates bearer tokens against the keys of one JWKS file and one issuer."""

    def __init__(self, settings: OidcSettings) -> None:
        self.settings = settings
        try:
            document = json.loads(settings.jwks.read_text("utf-8"))
        except (OSError, ValueError) as error:
            raise ValueError(f"{settings.jwks}: not a readable JWKS file: {error}") from None
        self.keys: dict[str | None, tuple[jwt.PyJWK, str]] = {}
        for data in document.get("keys", []) if isinstance(document, dict) else []:
            alg = data.get("alg") or DEFAULT_ALG.get(data.get("kty", ""))
            if alg not in ASYMMETRIC:
                raise ValueError(
                    f"{settings.jwks}: key {data.get('kid')!r} is not an asymmetric "
                    f"signing key ({data.get('kty')}/{alg}); only RSA, EC and OKP keys are used."
                )
            self.keys[data.get("kid")] = (jwt.PyJWK(data, alg), alg)
        if not self.keys:
            raise ValueError(f"{settings.jwks} holds no keys.")

    def _key(self, token: str) -> tuple[jwt.PyJWK, str]:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise TokenError(f"not a JWT: {error}") from None
        kid = header.get("kid")
        found = self.keys.get(kid)
        if found is None and kid is None and len(self.keys) == 1:
            found = next(iter(self.keys.values()))
        if found is None:
            raise TokenError(f"no key {kid!r} in the JWKS")
        if header.get("alg") != found[1]:
            raise TokenError(f"algorithm {header.get('alg')!r} is not the key's ({found[1]})")
        return found

    def validate(self, token: str) -> Principal:
        key, alg = self._key(token)
        s = self.settings
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key.key,
                algorithms=[alg],
                issuer=s.issuer,
                audience=s.audience,
                leeway=LEEWAY_S,
                options={
                    "require": ["exp", "iss", "sub"],
                    "verify_aud": s.audience is not None,
                },
            )
        except jwt.PyJWTError as error:
            raise TokenError(str(error)) from None
        roles = _claim(claims, s.roles_claim)
        if roles is None and s.roles_claim == "roles":
            roles = _claim(claims, "realm_access.roles")
        tenants = _claim(claims, s.tenants_claim)
        if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
            raise TokenError(f"claim {s.roles_claim!r} is not a list of roles")
        if tenants is None:
            tenants = [ALL_TENANTS]
        if not isinstance(tenants, list) or not all(isinstance(t, str) for t in tenants):
            raise TokenError(f"claim {s.tenants_claim!r} is not a list of tenants")
        known = []
        for text in roles:  # an IdP carries roles of other applications too: skip those
            try:
                known.append(parse_role(text))
            except RoleError:
                continue
        return Principal(
            subject=str(claims["sub"]),
            roles=frozenset(known),
            tenants=frozenset(tenants),
            method=Method.JWT,
        )
