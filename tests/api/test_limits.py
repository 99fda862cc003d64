"""Every limit of the API, just under (accepted) and just over (the spec's error, with a
detail naming the limit and the option that raises it): body size, batch size, q and scopeQ
length and depth, page size, attributes per entity, subscriptions per tenant, rate."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import orjson
import pytest
from starlette.testclient import TestClient
from typer.testing import CliRunner

from cityos import cli
from cityos.api.app import create_app
from cityos.api.http import Settings
from cityos.api.ratelimit import RateLimit, TokenBuckets
from cityos.context.query import QueryLimits
from cityos.store.base import Store
from tests.auth.conftest import secured_app
from tests.events.receiver import LOOPBACK

ENTITIES = "/ngsi-ld/v1/entities"
BATCH = "/ngsi-ld/v1/entityOperations/upsert"
SUBS = "/ngsi-ld/v1/subscriptions"
ERRORS = "https://uri.etsi.org/ngsi-ld/errors/"


@pytest.fixture
def limited(store: Store) -> Iterator[TestClient]:
    settings = Settings(
        max_body_bytes=2000,
        max_batch=3,
        default_limit=5,
        max_limit=5,
        query_limits=QueryLimits(max_length=24, max_depth=2),
        max_attributes=3,
        max_subscriptions=2,
        notify_policy=LOOPBACK,  # the subscriptions name a loopback endpoint
    )
    with TestClient(create_app(store, settings), raise_server_exceptions=False) as client:
        yield client


def sensor(n: int, attributes: int = 1) -> dict[str, Any]:
    attrs = {f"a{i}": {"type": "Property", "value": i} for i in range(attributes)}
    return {"id": f"urn:ngsi-ld:Sensor:{n}", "type": "Sensor", **attrs}


def post(client: TestClient, path: str, body: Any) -> Any:
    raw = orjson.dumps(body)
    return client.post(path, content=raw, headers={"Content-Type": "application/json"})


def refused(response: Any, status: int, kind: str, option: str) -> None:
    assert response.status_code == status, response.text
    assert response.json()["type"] == kind
    assert option in response.json()["detail"]


def test_body_size(limited: TestClient) -> None:
    def sized(n: int, size: int) -> bytes:
        body = {**sensor(n), "note": {"type": "Property", "value": ""}}
        padding = size - len(orjson.dumps(body))
        body["note"]["value"] = "x" * padding
        raw = orjson.dumps(body)
        assert len(raw) == size
        return raw

    headers = {"Content-Type": "application/json"}
    assert limited.post(ENTITIES, content=sized(1, 2000), headers=headers).status_code == 201
    response = limited.post(ENTITIES, content=sized(2, 2001), headers=headers)
    refused(response, 413, ERRORS + "InvalidRequest", "--max-body-bytes")
    assert "2000 bytes" in response.json()["detail"]


def test_entities_per_batch(limited: TestClient) -> None:
    assert post(limited, BATCH, [sensor(n) for n in range(3)]).status_code == 201
    response = post(limited, BATCH, [sensor(n) for n in range(4)])
    refused(response, 400, ERRORS + "BadRequestData", "--max-batch")
    assert "at most 3 entities" in response.json()["detail"]


@pytest.mark.parametrize("name", ["q", "scopeQ"])
def test_query_length(limited: TestClient, name: str) -> None:
    just = "a0==1;a0==2;a0==3;a0==40" if name == "q" else "/aaaaaaaaaa|/bbbbbbbbbbb"
    assert len(just) == 24
    response = limited.get(ENTITIES, params={"type": "Sensor", name: just})
    assert response.status_code == 200, response.text
    response = limited.get(ENTITIES, params={"type": "Sensor", name: just + "0"})
    refused(response, 403, ERRORS + "TooComplexQuery", "--max-query-length")
    assert "25 characters" in response.json()["detail"]


@pytest.mark.parametrize(
    ("name", "under", "over"),
    [("q", "((a0==1))", "(((a0==1)))"), ("scopeQ", "((/a))", "(((/a)))")],
)
def test_query_depth(limited: TestClient, name: str, under: str, over: str) -> None:
    post(limited, ENTITIES, sensor(1))
    response = limited.get(ENTITIES, params={"type": "Sensor", name: under})
    assert response.status_code == 200, response.text
    response = limited.get(ENTITIES, params={"type": "Sensor", name: over})
    refused(response, 403, ERRORS + "TooComplexQuery", "--max-query-depth")


def test_page_size(limited: TestClient) -> None:
    assert limited.get(ENTITIES, params={"type": "Sensor", "limit": 5}).status_code == 200
    response = limited.get(ENTITIES, params={"type": "Sensor", "limit": 6})
    refused(response, 403, ERRORS + "TooManyResults", "--max-page-size")


def test_attributes_per_entity(limited: TestClient) -> None:
    assert post(limited, ENTITIES, sensor(1, attributes=3)).status_code == 201
    response = post(limited, ENTITIES, sensor(2, attributes=4))
    refused(response, 400, ERRORS + "BadRequestData", "--max-attributes")
    assert "urn:ngsi-ld:Sensor:2 has 4" in response.json()["detail"]
    more = {f"b{i}": {"type": "Property", "value": i} for i in range(4)}
    response = post(limited, f"{ENTITIES}/urn:ngsi-ld:Sensor:1/attrs", more)
    refused(response, 400, ERRORS + "BadRequestData", "--max-attributes")
    response = post(limited, BATCH, [sensor(3), sensor(4, attributes=4)])
    refused(response, 400, ERRORS + "BadRequestData", "--max-attributes")
    assert limited.get(f"{ENTITIES}/urn:ngsi-ld:Sensor:3").status_code == 404


def subscription(n: int) -> dict[str, Any]:
    return {
        "id": f"urn:ngsi-ld:Subscription:{n}",
        "type": "Subscription",
        "entities": [{"type": "Sensor"}],
        "notification": {"endpoint": {"uri": "http://127.0.0.1:9/notify"}},
    }


def test_subscriptions_per_tenant(limited: TestClient) -> None:
    for n in range(2):
        assert post(limited, SUBS, subscription(n)).status_code == 201
    response = post(limited, SUBS, subscription(2))
    refused(response, 403, "urn:cityos:error:LimitExceeded", "--max-subscriptions")
    other = limited.post(
        SUBS,
        content=orjson.dumps(subscription(2)),
        headers={"Content-Type": "application/json", "NGSILD-Tenant": "other"},
    )
    assert other.status_code == 201  # a quota per tenant
    assert limited.delete(f"{SUBS}/urn:ngsi-ld:Subscription:0").status_code == 204
    assert post(limited, SUBS, subscription(2)).status_code == 201


def test_rate_per_key_with_retry_after(store: Store) -> None:
    secured = secured_app(store, rate=RateLimit(per_second=0.001, burst=3))
    with secured.client as client:
        first, second = secured.headers("admin"), secured.headers("admin")
        for _ in range(3):
            assert client.get("/auth/me", headers=first).status_code == 200
        response = client.get("/auth/me", headers=first)
        refused(response, 429, "urn:cityos:error:TooManyRequests", "--rate-limit")
        assert int(response.headers["Retry-After"]) >= 1
        assert client.get("/auth/me", headers=second).status_code == 200  # its own bucket
        assert client.get("/health/live").status_code == 200  # probes are never limited


def test_anonymous_callers_are_limited_by_address(store: Store) -> None:
    settings = Settings(rate=RateLimit(per_second=0.001, burst=2))
    with TestClient(create_app(store, settings), raise_server_exceptions=False) as client:
        assert client.get("/version").status_code == 200
        assert client.get("/version").status_code == 200
        assert client.get("/version").status_code == 429


def test_a_bucket_refills_at_its_rate_and_forgets_idle_callers() -> None:
    now = [0.0]
    buckets = TokenBuckets(RateLimit(per_second=2.0, burst=2), clock=lambda: now[0], capacity=2)
    assert [buckets.take("a") for _ in range(3)] == [0.0, 0.0, 0.5]
    now[0] = 0.5  # one token back
    assert buckets.take("a") == 0.0
    now[0] = 0.75  # half a token: half a wait
    assert buckets.take("a") == 0.25
    buckets.take("b")
    buckets.take("c")  # "a", the longest idle, is forgotten: it starts full again
    assert buckets.take("a") == 0.0


def test_every_limit_is_a_serve_option(monkeypatch: pytest.MonkeyPatch, tmp_path: Any) -> None:
    seen: dict[str, Any] = {}

    def capture(store: Any, host: str, port: int, settings: Any = None, *args: Any) -> None:
        seen["settings"] = settings
        store.close()

    monkeypatch.setattr(cli, "_serve", capture)
    env = {
        "CITYOS_DATA": str(tmp_path / "city"),
        "CITYOS_LOG_FORMAT": "text",
        "CITYOS_MAX_BODY_BYTES": "1000",
        "CITYOS_MAX_PAGE_SIZE": "50",
        "CITYOS_MAX_BATCH": "7",
        "CITYOS_MAX_QUERY_LENGTH": "99",
        "CITYOS_MAX_QUERY_DEPTH": "4",
        "CITYOS_MAX_ATTRIBUTES": "12",
        "CITYOS_MAX_SUBSCRIPTIONS": "5",
        "CITYOS_RATE_LIMIT": "2.5",
        "CITYOS_RATE_BURST": "10",
    }
    result = CliRunner().invoke(cli.app, ["serve"], env=env)
    assert result.exit_code == 0, result.output
    settings: Settings = seen["settings"]
    assert (settings.max_body_bytes, settings.max_limit, settings.max_batch) == (1000, 50, 7)
    assert settings.query_limits == QueryLimits(99, 4)
    assert (settings.max_attributes, settings.max_subscriptions) == (12, 5)
    assert settings.rate == RateLimit(2.5, 10)
    result = CliRunner().invoke(cli.app, ["serve", "--max-query-depth", "101"], env=env)
    assert result.exit_code == 2
