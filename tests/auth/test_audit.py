"""The audit log as the city sees it: every governance action, subscription change, rule
change and key change leaves exactly one record with the right who and what (never a
secret or a reporter's contact); admins alone read it, over HTTP and on the command line."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
from typer.testing import CliRunner

from cityos.auth.keys import split_key
from cityos.cli import app as cli
from cityos.governance.service import CaseService
from cityos.store.audit import AuditFilter, AuditRecord
from cityos.store.base import Store
from cityos.store.sqlite import SQLiteStore
from tests.auth.conftest import Secured

CASES = "/governance/cases"
SUBS = "/ngsi-ld/v1/subscriptions"
YUZHONG = {"type": "Point", "coordinates": [106.577, 29.557]}
CONTACT = "wang@example.cn"


def log(store: Store, **selection: Any) -> list[AuditRecord]:
    return store.audit.find(AuditFilter(**selection))


def subject(key: str) -> str:
    found = split_key(key)
    assert found is not None
    return found[0]


def test_each_governance_action_is_one_record_by_its_principal(secured: Secured) -> None:
    key = secured.key("operator")
    auth = {"Authorization": f"Bearer {key}", "NGSILD-Tenant": "chongqing"}
    body = {"category": "pothole", "location": YUZHONG, "reporter": {"email": CONTACT}}
    made = secured.client.post(CASES, json=body, headers=auth)
    assert made.status_code == 201, made.text
    case = made.json()["id"]
    accepted = secured.client.post(f"{CASES}/{case}/accept", headers=auth)
    assert accepted.status_code == 200, accepted.text
    records = log(secured.store)
    assert [(r.action, r.object_id, r.tenant) for r in records] == [
        ("case.report", case, "chongqing"),
        ("case.accept", case, "chongqing"),
    ]
    for record in records:
        assert (record.actor, record.method) == (subject(key), "key")
    assert records[1].request_id == accepted.headers["X-Request-Id"]
    assert records[1].detail["from"] == "reported" and records[1].detail["to"] == "accepted"
    assert CONTACT not in orjson.dumps([r.detail for r in records]).decode()


def test_escalations_are_the_platforms_own(secured: Secured) -> None:
    auth = secured.headers("operator")
    made = secured.client.post(
        CASES, json={"category": "pothole", "location": YUZHONG}, headers=auth
    )
    service: CaseService = secured.client.app.state.services.cases  # type: ignore[attr-defined]
    due = datetime.fromisoformat(made.json()["due"]["accept"])
    service.clock = lambda: due + timedelta(seconds=1)
    assert service.escalate_overdue() == 1
    [escalated] = log(secured.store, action="case.escalate")
    assert (escalated.actor, escalated.method) == ("cityos", "system")
    assert escalated.detail["stage"] == "accept"


def test_subscription_and_rule_changes_are_recorded(secured: Secured) -> None:
    key = secured.key("operator")
    auth = {"Authorization": f"Bearer {key}"}
    sub = {
        "id": "urn:ngsi-ld:Subscription:s1",
        "type": "Subscription",
        "entities": [{"type": "Sensor"}],
        "notification": {"endpoint": {"uri": "http://user:s3cret@127.0.0.1:9/notify?token=t0k"}},
    }
    assert secured.client.post(SUBS, json=sub, headers=auth).status_code == 201
    patch = {"description": "changed"}
    url = f"{SUBS}/{sub['id']}"
    assert secured.client.patch(url, json=patch, headers=auth).status_code == 204
    assert secured.client.delete(url, headers=auth).status_code == 204
    rule = {
        "id": "hot",
        "type": "Sensor",
        "when": {"q": "temperature>30"},
        "then": [{"set": {"attribute": "alarm", "value": "hot"}}],
    }
    assert secured.client.post("/rules", json=rule, headers=auth).status_code == 201
    assert secured.client.delete(f"/rules/{rule['id']}", headers=auth).status_code == 204
    records = log(secured.store)
    actions = [(r.action, r.object_id) for r in records]
    assert actions[:3] == [
        ("subscription.create", sub["id"]),
        ("subscription.update", sub["id"]),
        ("subscription.delete", sub["id"]),
    ]
    assert actions[3:] == [("rule.create", rule["id"]), ("rule.delete", rule["id"])]
    assert {r.actor for r in records} == {subject(key)}
    assert records[0].detail["endpoint"] == "http://127.0.0.1"
    assert records[1].detail["changed"] == ["description"]
    text = orjson.dumps([r.detail for r in records]).decode()
    assert "s3cret" not in text and "t0k" not in text


def test_admins_alone_read_the_log(secured: Secured) -> None:
    secured.client.post(
        CASES, json={"category": "pothole", "location": YUZHONG}, headers=secured.headers("admin")
    )
    for role in ("operator", "supervisor", "inspector"):
        assert secured.client.get("/audit", headers=secured.headers(role)).status_code == 403
    assert secured.client.get("/audit").status_code == 401
    admin = secured.headers("admin")
    response = secured.client.get("/audit", params={"action": "case"}, headers=admin)
    assert response.status_code == 200, response.text
    [entry] = response.json()
    assert entry["action"] == "case.report" and entry["method"] == "key"
    bound = secured.headers("admin", tenants=("north",))
    assert secured.client.get("/audit", headers=bound).status_code == 403  # must name one
    named = secured.client.get("/audit", params={"tenant": "north"}, headers=bound)
    assert named.status_code == 200 and named.json() == []
    other = secured.client.get("/audit", params={"tenant": "south"}, headers=bound)
    assert other.status_code == 403


def test_key_changes_from_the_cli_and_no_secret_anywhere(tmp_path: Path) -> None:
    runner = CliRunner()
    data = ["--data", str(tmp_path)]
    made = runner.invoke(cli, ["keys", "create", "--name", "ops", "--role", "operator", *data])
    assert made.exit_code == 0, made.output
    key = made.output.strip().splitlines()[-1]
    key_id, secret = split_key(key) or ("", "")
    assert runner.invoke(cli, ["keys", "revoke", key_id, *data]).exit_code == 0
    assert runner.invoke(cli, ["keys", "revoke", key_id, *data]).exit_code == 1  # no change
    store = SQLiteStore(tmp_path)
    try:
        records = log(store)
        raw = store.census()
    finally:
        store.close()
    assert [(r.action, r.object_id, r.actor, r.method) for r in records] == [
        ("key.create", key_id, "cli", "cli"),
        ("key.revoke", key_id, "cli", "cli"),
    ]
    assert records[0].detail == {"name": "ops", "roles": ["operator"], "tenants": ["*"]}
    assert raw["audit records"] == {"*": 2}
    shown = runner.invoke(cli, ["audit", "--action", "key.revoke", *data])
    assert shown.exit_code == 0, shown.output
    lines = shown.output.strip().splitlines()
    assert len(lines) == 2 and "key.revoke" in lines[1] and key_id in lines[1]
    everything = runner.invoke(cli, ["audit", *data]).output
    assert secret not in everything and len(everything.strip().splitlines()) == 3
