"""Bearer tokens of an identity provider, validated offline against a JWKS file."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from jwt.algorithms import ECAlgorithm, RSAAlgorithm

from cityos.auth.config import AuthSettings
from cityos.auth.oidc import OidcSettings, TokenValidator
from cityos.store.base import Store
from tests.auth.conftest import Secured, secured_app

ISSUER = "https://id.example.test/realms/city"
ENTITIES = "/ngsi-ld/v1/entities?type=Building"


def _jwk(public: Any, kid: str) -> dict[str, Any]:
    if isinstance(public, rsa.RSAPublicKey):
        data: dict[str, Any] = json.loads(RSAAlgorithm.to_jwk(public))
        data["alg"] = "RS256"
    else:
        data = json.loads(ECAlgorithm.to_jwk(public))
    data["kid"] = kid
    return data


@pytest.fixture(scope="module")
def rsa_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


@pytest.fixture(scope="module")
def ec_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@pytest.fixture
def jwks(tmp_path: Path, rsa_key: rsa.RSAPrivateKey, ec_key: ec.EllipticCurvePrivateKey) -> Path:
    path = tmp_path / "jwks.json"
    keys = [_jwk(rsa_key.public_key(), "rsa1"), _jwk(ec_key.public_key(), "ec1")]
    path.write_text(json.dumps({"keys": keys}))
    return path


def claims(**changes: Any) -> dict[str, Any]:
    now = int(time.time())
    body = {"iss": ISSUER, "sub": "li", "aud": "cityos", "iat": now, "exp": now + 300}
    body.update({"roles": ["operator", "offline_access"], **changes})
    return {k: v for k, v in body.items() if v is not None}


def sign(key: Any, kid: str = "rsa1", alg: str = "RS256", **changes: Any) -> str:
    return jwt.encode(claims(**changes), key, algorithm=alg, headers={"kid": kid})


@pytest.fixture
def idp(store: Store, jwks: Path) -> Secured:
    oidc = OidcSettings(jwks=jwks, issuer=ISSUER, audience="cityos")
    return secured_app(store, AuthSettings(oidc=oidc))


def status(idp: Secured, token: str, url: str = ENTITIES, **headers: str) -> int:
    with idp.client as client:
        return client.get(url, headers={"Authorization": f"Bearer {token}", **headers}).status_code


def test_good_tokens_authenticate(idp: Secured, rsa_key: Any, ec_key: Any) -> None:
    assert status(idp, sign(rsa_key)) == 200
    assert status(idp, sign(ec_key, "ec1", "ES256")) == 200
    keycloak = sign(rsa_key, roles=None, realm_access={"roles": ["operator"]})
    assert status(idp, keycloak) == 200
    with idp.client as client:
        me = client.get("/auth/me", headers={"Authorization": f"Bearer {sign(rsa_key)}"}).json()
    assert me["subject"] == "li" and me["method"] == "jwt" and me["roles"] == ["operator"]


def test_roles_and_tenants_of_a_token_are_enforced(idp: Secured, rsa_key: Any) -> None:
    citizen = sign(rsa_key, roles=["citizen"])
    assert status(idp, citizen) == 403
    scoped = sign(rsa_key, tenants=["a"])
    assert status(idp, scoped, **{"NGSILD-Tenant": "b"}) == 403
    assert status(idp, sign(rsa_key, roles=[])) == 403


@pytest.mark.parametrize(
    "case",
    [
        "expired",
        "not-yet",
        "wrong-issuer",
        "wrong-audience",
        "no-exp",
        "wrong-key",
        "alg-none",
        "hs256-with-public-key",
        "tampered",
        "unknown-kid",
        "garbage",
    ],
)
def test_bad_tokens_are_401(idp: Secured, rsa_key: Any, ec_key: Any, case: str) -> None:
    now = int(time.time())
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public_pem = rsa_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    token = {
        "expired": lambda: sign(rsa_key, exp=now - 120),
        "not-yet": lambda: sign(rsa_key, nbf=now + 600),
        "wrong-issuer": lambda: sign(rsa_key, iss="https://evil.test"),
        "wrong-audience": lambda: sign(rsa_key, aud="someone-else"),
        "no-exp": lambda: sign(rsa_key, exp=None),
        "wrong-key": lambda: sign(other),
        "alg-none": lambda: jwt.encode(claims(), None, algorithm="none", headers={"kid": "rsa1"}),
        "hs256-with-public-key": lambda: _hmac(public_pem),
        "tampered": lambda: _tampered(sign(rsa_key)),
        "unknown-kid": lambda: sign(rsa_key, kid="nope"),
        "garbage": lambda: "not.a.token",
    }[case]()
    assert status(idp, token) == 401


def _hmac(secret: bytes) -> str:
    """HS256 with the public key as the secret: PyJWT refuses to make one, so by hand."""
    import base64
    import hashlib
    import hmac

    def b64(data: bytes) -> bytes:
        return base64.urlsafe_b64encode(data).rstrip(b"=")

    head = b64(json.dumps({"alg": "HS256", "typ": "JWT", "kid": "rsa1"}).encode())
    body = b64(json.dumps(claims()).encode())
    mac = hmac.new(secret, head + b"." + body, hashlib.sha256).digest()
    return (head + b"." + body + b"." + b64(mac)).decode()


def _tampered(token: str) -> str:
    import base64

    head, body, signature = token.split(".")
    data = json.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    data["roles"] = ["admin"]
    forged = base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()
    return f"{head}.{forged}.{signature}"


def test_keys_still_work_beside_tokens(idp: Secured) -> None:
    assert status(idp, idp.key("operator")) == 200


def test_a_jwks_of_symmetric_keys_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "jwks.json"
    path.write_text(json.dumps({"keys": [{"kty": "oct", "k": "c2VjcmV0", "kid": "h"}]}))
    with pytest.raises(ValueError, match="not an asymmetric"):
        TokenValidator(OidcSettings(jwks=path, issuer=ISSUER))
    path.write_text("{}")
    with pytest.raises(ValueError, match="no keys"):
        TokenValidator(OidcSettings(jwks=path, issuer=ISSUER))
