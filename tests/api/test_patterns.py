"""Client patterns run on RE2 (issue 16, item 4): what RE2 cannot compile (backreferences,
lookaround) is refused with a 400 that says why, in queries, subscriptions and rules; a
pattern that makes a backtracking engine explode answers correctly, at once."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.testclient import TestClient

from cityos.context.jsonld import ContextResolver
from cityos.rules.model import RuleError, compile_rule
from tests.api.helpers import ENTITIES, problem_type

SUBS = "/ngsi-ld/v1/subscriptions"
BACKREFERENCE = r"(a)\1"
LOOKAHEAD = "urn(?=:)"
# Each of these takes a backtracking engine (Python's re) minutes on the ids below.
CATASTROPHIC = ["(.*){8}!", "(a+)+$", "(a|aa)+$"]
SHORT_ID = "urn:ngsi-ld:Sensor:aaa"
LONG_ID = "urn:ngsi-ld:Sensor:" + "a" * 40 + "!"


def sensors(client: TestClient) -> None:
    for entity_id in (SHORT_ID, LONG_ID):
        body = {
            "id": entity_id,
            "type": "Sensor",
            "name": {"type": "Property", "value": "a" * 40 + "!"},
        }
        assert client.post(ENTITIES, json=body).status_code == 201


def found(client: TestClient, **params: str) -> list[str]:
    response = client.get(ENTITIES, params={"type": "Sensor", **params})
    assert response.status_code == 200, response.text
    return sorted(e["id"] for e in response.json())


def refused_pattern(response: Any, pattern: str) -> None:
    assert response.status_code == 400, response.text
    assert problem_type(response) == "BadRequestData"
    detail = response.json()["detail"]
    assert "RE2" in detail and pattern in detail


@pytest.mark.parametrize("pattern", [BACKREFERENCE, LOOKAHEAD])
def test_a_query_pattern_re2_cannot_run_is_refused(client: TestClient, pattern: str) -> None:
    refused_pattern(client.get(ENTITIES, params={"idPattern": pattern}), pattern)
    refused_pattern(
        client.get(ENTITIES, params={"type": "Sensor", "q": f"name~={pattern}"}), pattern
    )


@pytest.mark.parametrize("pattern", [BACKREFERENCE, LOOKAHEAD])
def test_a_subscription_pattern_re2_cannot_run_is_refused(client: TestClient, pattern: str) -> None:
    base = {
        "type": "Subscription",
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/notify"}},
    }
    selector = {**base, "entities": [{"type": "Sensor", "idPattern": pattern}]}
    refused_pattern(client.post(SUBS, json=selector), pattern)
    query = {**base, "entities": [{"type": "Sensor"}], "q": f"name~={pattern}"}
    refused_pattern(client.post(SUBS, json=query), pattern)


@pytest.mark.parametrize("pattern", [BACKREFERENCE, LOOKAHEAD])
def test_a_rule_pattern_re2_cannot_run_is_refused(pattern: str) -> None:
    doc = {
        "id": "p",
        "type": "Sensor",
        "when": {"q": f"name~={pattern}"},
        "then": [{"set": {"attribute": "alarm", "value": "x"}}],
    }
    with pytest.raises(RuleError, match="RE2"):
        compile_rule(doc, ContextResolver())


@pytest.mark.parametrize("pattern", CATASTROPHIC)
def test_catastrophic_patterns_answer_correctly(client: TestClient, pattern: str) -> None:
    sensors(client)
    matching = pattern.endswith("!")
    assert found(client, idPattern=pattern) == [LONG_ID if matching else SHORT_ID]
    both = sorted([SHORT_ID, LONG_ID])
    assert found(client, q=f"name~={pattern}") == (both if matching else [])


def test_a_subscription_with_a_catastrophic_pattern_still_matches(client: TestClient) -> None:
    body = {
        "type": "Subscription",
        "entities": [{"type": "Sensor", "idPattern": CATASTROPHIC[0]}],
        "q": f"name~={CATASTROPHIC[1]}",
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/notify"}},
    }
    assert client.post(SUBS, json=body).status_code == 201
    sensors(client)  # each write is matched against the subscription on the way
    assert found(client, idPattern="Sensor:a") == sorted([SHORT_ID, LONG_ID])


def test_an_id_pattern_is_held_to_the_query_length(client: TestClient) -> None:
    response = client.get(ENTITIES, params={"idPattern": "a" * 5000})
    assert response.status_code == 403
    assert "--max-query-length" in response.json()["detail"]
