"""API keys: created, used, revoked, expired, hashed at rest; 401 and 403 as ProblemDetails."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from typer.testing import CliRunner

from cityos.auth.keys import ApiKeys, split_key
from cityos.auth.principal import RoleError
from cityos.cli import app as cli
from cityos.store.sqlite import SQLiteStore
from tests.auth.conftest import Secured, secured_app

ENTITIES = "/ngsi-ld/v1/entities?type=Building"


def bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def test_a_key_works_until_revoked(secured: Secured) -> None:
    record, key = secured.keys.create("ops", ["operator"])
    assert secured.client.get(ENTITIES, headers=bearer(key)).status_code == 200
    assert secured.client.get(ENTITIES, headers={"X-API-Key": key}).status_code == 200
    assert secured.keys.revoke(record.key_id)
    refused = secured.client.get(ENTITIES, headers=bearer(key))
    assert refused.status_code == 401
    assert refused.headers["www-authenticate"] == 'Bearer realm="cityos"'
    assert refused.json()["type"] == "urn:cityos:error:Unauthorized"
    assert not secured.keys.revoke(record.key_id)  # once


def test_a_revoke_elsewhere_reaches_the_server(secured: Secured) -> None:
    """Another process (the CLI) revokes on the same store: the server sees it once its
    cache entry is gone (within CACHE_TTL_S; here the entry is dropped by hand)."""
    record, key = secured.keys.create("ops", ["operator"])
    assert secured.client.get(ENTITIES, headers=bearer(key)).status_code == 200
    assert ApiKeys(secured.store.keys).revoke(record.key_id)
    secured.keys._cache.clear()
    assert secured.client.get(ENTITIES, headers=bearer(key)).status_code == 401


def test_an_expired_key_is_refused(secured: Secured) -> None:
    past = datetime.now(UTC) - timedelta(days=3)
    _, key = ApiKeys(secured.store.keys, clock=lambda: past).create(
        "old", ["admin"], ["*"], None, 1
    )
    assert secured.client.get(ENTITIES, headers=bearer(key)).status_code == 401
    _, fresh = secured.keys.create("new", ["admin"], ["*"], None, 1)
    assert secured.client.get(ENTITIES, headers=bearer(fresh)).status_code == 200


def test_wrong_secret_and_garbage_are_401(secured: Secured) -> None:
    _, key = secured.keys.create("ops", ["operator"])
    key_id, secret = split_key(key) or ("", "")
    for bad in (f"cityos_{key_id}_{secret[:-1]}x", "cityos_nokey_abc", "hello", ""):
        response = secured.client.get(ENTITIES, headers=bearer(bad))
        assert response.status_code == 401, bad
    basic = secured.client.get(ENTITIES, headers={"Authorization": f"Basic {key}"})
    assert basic.status_code == 401


def test_forbidden_is_403_problem_details(secured: Secured) -> None:
    response = secured.client.post(
        "/ngsi-ld/v1/entities",
        json={"id": "urn:x:1", "type": "Building"},
        headers=secured.headers("citizen"),
    )
    assert response.status_code == 403
    assert response.json()["type"] == "urn:cityos:error:Forbidden"
    assert "citizen" in response.json()["detail"]
    assert "www-authenticate" not in response.headers


def test_the_key_is_hashed_at_rest(tmp_path: Path) -> None:
    store = SQLiteStore(tmp_path)
    try:
        _, key = ApiKeys(store.keys).create("ops", ["operator"])
    finally:
        store.close()
    _, secret = split_key(key) or ("", "")
    stored = b"".join(p.read_bytes() for p in tmp_path.iterdir() if p.is_file())
    assert secret.encode() not in stored and key.encode() not in stored
    assert split_key(key) is not None


def test_scopes_are_checked_when_created(secured: Secured) -> None:
    with pytest.raises(RoleError, match="Unknown role"):
        secured.keys.create("x", ["mayor"])
    with pytest.raises(RoleError, match="department:<name>"):
        secured.keys.create("x", ["department"])
    with pytest.raises(RoleError, match="entity"):
        secured.keys.create("x", ["device"])
    with pytest.raises(RoleError, match="entity"):
        secured.keys.create("x", ["operator"], entity="urn:x:1")


def test_me_names_the_principal(secured: Secured) -> None:
    record, key = secured.keys.create("crew", ["department:roads"], ["north"])
    body = secured.client.get("/auth/me", headers=bearer(key)).json()
    assert body == {
        "subject": record.key_id,
        "method": "key",
        "roles": ["department:roads"],
        "tenants": ["north"],
        "entity": None,
    }


def test_the_cli_creates_lists_and_revokes(tmp_path: Path) -> None:
    runner = CliRunner()
    data = ["--data", str(tmp_path)]
    made = runner.invoke(
        cli, ["keys", "create", "--name", "ops desk", "--role", "operator", "--tenant", "a", *data]
    )
    assert made.exit_code == 0, made.output
    key = made.output.strip().splitlines()[-1]
    key_id, secret = split_key(key) or ("", "")
    listed = runner.invoke(cli, ["keys", "list", *data])
    assert key_id in listed.output and secret not in listed.output
    assert runner.invoke(cli, ["keys", "revoke", key_id, *data]).exit_code == 0
    assert runner.invoke(cli, ["keys", "revoke", key_id, *data]).exit_code == 1
    store = SQLiteStore(tmp_path)
    try:
        with secured_app(store).client as client:
            assert client.get(ENTITIES, headers=bearer(key)).status_code == 401
    finally:
        store.close()
    bad = runner.invoke(cli, ["keys", "create", "--name", "x", "--role", "mayor", *data])
    assert bad.exit_code != 0 and "Unknown role" in bad.output


def test_keys_move_with_the_city(tmp_path: Path) -> None:
    """`cityos migrate` carries the keys (hashed): they work on PostgreSQL as before."""
    from cityos.store.migrate import migrate
    from tests.stores import StoreFactory

    source = SQLiteStore(tmp_path / "city")
    postgres = StoreFactory("postgresql", tmp_path)
    try:
        record, key = ApiKeys(source.keys).create("ops", ["operator"], ["a"])
        revoked, _ = ApiKeys(source.keys).create("old", ["admin"])
        ApiKeys(source.keys).revoke(revoked.key_id)
        target = postgres()
        report = migrate(source, target)
        assert report.ok
        assert [c.target for c in report.counts if c.kind == "api keys"] == [2]
        assert target.keys.list_keys() == source.keys.list_keys()
        principal = ApiKeys(target.keys).authenticate(key)
        assert principal is not None and principal.subject == record.key_id
    finally:
        source.close()
        postgres.close()
