"""Subscriptions through HTTP, with notifications received by a real HTTP server on loopback."""

from __future__ import annotations

import json
import ssl
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import trustme
from starlette.testclient import TestClient

from cityos.api.app import create_app
from cityos.api.http import Settings
from cityos.events.notifier import RetryPolicy
from cityos.store.base import Store
from tests.events.receiver import LOOPBACK, Receiver, receiving

SUBS = "/ngsi-ld/v1/subscriptions"
ENTITIES = "/ngsi-ld/v1/entities"
CORE = "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context-v1.8.jsonld"


@pytest.fixture
def client(store: Store) -> Iterator[TestClient]:
    """The API with retries fast enough for a test to watch them happen."""
    settings = Settings(
        notify_policy=LOOPBACK,
        notify_retry=RetryPolicy(first_s=0.05, max_s=0.2, tick_s=0.02),
    )
    with TestClient(create_app(store, settings), raise_server_exceptions=False) as test_client:
        yield test_client


def sensor(entity_id: str = "urn:ngsi-ld:FloodSensor:1", level: float = 1.0) -> dict[str, Any]:
    return {
        "id": entity_id,
        "type": "FloodSensor",
        "waterLevel": {"type": "Property", "value": level, "unitCode": "MTR"},
        "status": {"type": "Property", "value": "ok"},
        "location": {
            "type": "GeoProperty",
            "value": {"type": "Point", "coordinates": [106.5, 29.5]},
        },
    }


def subscription(uri: str, **extra: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": "Subscription",
        "entities": [{"type": "FloodSensor"}],
        "notification": {"endpoint": {"uri": uri}},
    }
    body.update(extra)
    return body


def subscribe(client: TestClient, body: dict[str, Any], **headers: str) -> str:
    response = client.post(SUBS, json=body, headers=headers)
    assert response.status_code == 201, response.text
    location: str = response.headers["Location"]
    return location.rsplit("/", 1)[1]


def status_when(
    client: TestClient, sub_id: str, ready: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    """The subscription's notification status once `ready` holds (the notifier notes a
    delivery just after the receiver has it)."""
    for _ in range(200):
        status: dict[str, Any] = client.get(f"{SUBS}/{sub_id}").json()["notification"]
        if ready(status):
            return status
        time.sleep(0.02)
    raise AssertionError(f"status never got there: {status}")


def set_level(
    client: TestClient, level: float, entity_id: str = "urn:ngsi-ld:FloodSensor:1"
) -> None:
    response = client.patch(
        f"{ENTITIES}/{entity_id}/attrs", json={"waterLevel": {"type": "Property", "value": level}}
    )
    assert response.status_code == 204, response.text


# -- the subscription resource ----------------------------------------------------------


def test_create_retrieve_list_update_delete(client: TestClient, receiver: Receiver) -> None:
    sub_id = subscribe(client, subscription(receiver.url, id="urn:ngsi-ld:Subscription:flood"))
    assert sub_id == "urn:ngsi-ld:Subscription:flood"
    got = client.get(f"{SUBS}/{sub_id}").json()
    assert got["id"] == sub_id
    assert got["entities"] == [{"type": "FloodSensor"}]
    assert got["status"] == "active"
    assert "isActive" not in got  # only what the client wrote; status tells the state
    assert got["notificationTrigger"] == ["attributeCreated", "attributeUpdated"]
    assert got["notification"]["format"] == "normalized"

    listed = client.get(SUBS, params={"count": "true"})
    assert listed.headers["NGSILD-Results-Count"] == "1"
    assert [s["id"] for s in listed.json()] == [sub_id]

    assert client.patch(f"{SUBS}/{sub_id}", json={"isActive": False}).status_code == 204
    assert client.get(f"{SUBS}/{sub_id}").json()["status"] == "paused"

    assert client.delete(f"{SUBS}/{sub_id}").status_code == 204
    assert client.get(f"{SUBS}/{sub_id}").status_code == 404
    assert client.delete(f"{SUBS}/{sub_id}").status_code == 404


def test_generated_ids_and_conflicts(client: TestClient, receiver: Receiver) -> None:
    first = subscribe(client, subscription(receiver.url))
    assert first.startswith("urn:ngsi-ld:Subscription:")
    again = client.post(SUBS, json=subscription(receiver.url, id=first))
    assert again.status_code == 409
    assert again.json()["type"].endswith("AlreadyExists")


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"type": "Sub"}, "Subscription"),
        ({"entities": None, "watchedAttributes": None}, "entities or watchedAttributes"),
        ({"entities": [{"id": "urn:a:b"}]}, "type"),
        ({"entities": [{"type": "T", "idPattern": "(["}]}, "idPattern"),
        ({"watchedAttributes": []}, "empty"),
        ({"timeInterval": 5, "watchedAttributes": ["waterLevel"]}, "exclude"),
        ({"timeInterval": 5, "throttling": 2}, "exclude"),
        ({"throttling": -1}, "positive"),
        ({"expiresAt": "2001-01-01T00:00:00Z"}, "future"),
        ({"expiresAt": "tomorrow"}, "expiresAt"),
        ({"q": "waterLevel>"}, "q"),
        ({"geoQ": {"georel": "near;maxDistance==10", "geometry": "Point"}}, "coordinates"),
        ({"notification": {"endpoint": {"uri": "not a uri"}}}, "uri"),
        ({"notification": {"endpoint": {"uri": "http://x", "accept": "text/plain"}}}, "accept"),
        ({"notification": {"endpoint": {"uri": "ftp://h/x"}}}, "ftp"),
        ({"notification": {"format": "fancy", "endpoint": {"uri": "http://x"}}}, "format"),
        ({"notificationTrigger": ["whenever"]}, "notificationTrigger"),
        ({"unknownMember": 1}, "unknownMember"),
        ({"status": "active"}, "status"),
    ],
)
def test_bad_subscriptions_are_refused(
    client: TestClient, receiver: Receiver, change: dict[str, Any], reason: str
) -> None:
    body = subscription(receiver.url)
    for key, value in change.items():
        if value is None:
            body.pop(key, None)
        else:
            body[key] = value
    response = client.post(SUBS, json=body)
    assert response.status_code == 400, response.text
    problem = response.json()
    assert problem["type"].endswith("BadRequestData")
    assert reason in problem["detail"]


@pytest.mark.parametrize(
    "uri",
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[fe80::1]/x",
        "http://100.100.100.200/latest/meta-data/",
        "mqtt://169.254.1.1:1883/topic",
        "http://[::ffff:169.254.169.254]/x",
        "http://[64:ff9b::a9fe:a9fe]/x",
        "http://[::169.254.169.254]/x",
        "http://[::ffff:0:a9fe:a9fe]/x",
    ],
)
def test_link_local_and_metadata_endpoints_are_refused(client: TestClient, uri: str) -> None:
    response = client.post(SUBS, json=subscription(uri))
    assert response.status_code == 400
    assert "does not notify" in response.json()["detail"]


def test_an_allow_list_limits_endpoints(store: Store) -> None:
    from cityos.events.endpoints import EndpointPolicy

    settings = Settings(notify_policy=EndpointPolicy.from_lists(["10.0.0.0/8"]))
    with TestClient(create_app(store, settings)) as client:
        assert client.post(SUBS, json=subscription("http://10.1.2.3/x")).status_code == 201
        assert client.post(SUBS, json=subscription("http://127.0.0.1/x")).status_code == 400


def test_patch_cannot_make_a_subscription_invalid(client: TestClient, receiver: Receiver) -> None:
    sub_id = subscribe(client, subscription(receiver.url, watchedAttributes=["waterLevel"]))
    response = client.patch(f"{SUBS}/{sub_id}", json={"timeInterval": 10})
    assert response.status_code == 400
    response = client.patch(
        f"{SUBS}/{sub_id}", json={"notification": {"endpoint": {"uri": "http://169.254.169.254/"}}}
    )
    assert response.status_code == 400
    assert client.get(f"{SUBS}/{sub_id}").json()["watchedAttributes"] == ["waterLevel"]


def test_subscriptions_belong_to_their_tenant(client: TestClient, receiver: Receiver) -> None:
    sub_id = subscribe(client, subscription(receiver.url), **{"NGSILD-Tenant": "yuzhong"})
    assert client.get(f"{SUBS}/{sub_id}").status_code == 404
    assert client.get(f"{SUBS}/{sub_id}", headers={"NGSILD-Tenant": "yuzhong"}).status_code == 200
    client.post(ENTITIES, json=sensor())
    assert receiver.quiet_for(0.3) == []
    client.post(ENTITIES, json=sensor(), headers={"NGSILD-Tenant": "yuzhong"})
    got = receiver.wait_for(1)
    assert got[0].headers["NGSILD-Tenant"] == "yuzhong"


# -- notifications ----------------------------------------------------------------------


def test_a_change_is_notified_after_commit(client: TestClient, receiver: Receiver) -> None:
    client.post(ENTITIES, json=sensor())
    sub_id = subscribe(client, subscription(receiver.url))
    set_level(client, 4.2)
    note = receiver.wait_for(1)[0]
    assert note.body["type"] == "Notification"
    assert note.body["subscriptionId"] == sub_id
    assert note.body["id"].startswith("urn:ngsi-ld:Notification:")
    assert note.body["notifiedAt"].endswith("Z")
    assert note.headers["Content-Type"] == "application/json"
    assert CORE in note.headers["Link"]
    [entity] = note.body["data"]
    assert entity["id"] == "urn:ngsi-ld:FloodSensor:1"
    assert entity["type"] == "FloodSensor"
    assert entity["waterLevel"]["value"] == 4.2
    # The notified state is the committed one.
    stored = client.get(f"{ENTITIES}/urn:ngsi-ld:FloodSensor:1").json()
    assert stored["waterLevel"]["value"] == 4.2
    status = status_when(client, sub_id, lambda s: s.get("timesSent") == 1)
    assert status["status"] == "ok"
    assert "lastSuccess" in status and "lastNotification" in status


def test_notifications_keep_commit_order(client: TestClient, receiver: Receiver) -> None:
    client.post(ENTITIES, json=sensor())
    subscribe(client, subscription(receiver.url))
    for level in range(40):
        set_level(client, level)
    got = receiver.wait_for(40)
    assert [n.body["data"][0]["waterLevel"]["value"] for n in got] == list(range(40))


def test_rejected_writes_notify_nothing(client: TestClient, receiver: Receiver) -> None:
    subscribe(client, subscription(receiver.url))
    client.post(ENTITIES, json=sensor())
    receiver.wait_for(1)
    assert client.post(ENTITIES, json=sensor()).status_code == 409
    assert len(receiver.quiet_for(0.3)) == 1


def test_watched_attributes_and_attributes(client: TestClient, receiver: Receiver) -> None:
    client.post(ENTITIES, json=sensor())
    body = subscription(receiver.url, watchedAttributes=["waterLevel"])
    body["notification"]["attributes"] = ["waterLevel"]
    subscribe(client, body)
    client.patch(
        f"{ENTITIES}/urn:ngsi-ld:FloodSensor:1/attrs",
        json={"status": {"type": "Property", "value": "maintenance"}},
    )
    assert receiver.quiet_for(0.3) == []
    set_level(client, 2.5)
    [entity] = receiver.wait_for(1)[0].body["data"]
    assert set(entity) == {"id", "type", "waterLevel"}


def test_q_geo_and_id_selectors(client: TestClient, receiver: Receiver) -> None:
    client.post(ENTITIES, json=sensor("urn:ngsi-ld:FloodSensor:1"))
    far = sensor("urn:ngsi-ld:FloodSensor:2")
    far["location"]["value"]["coordinates"] = [0.0, 0.0]
    client.post(ENTITIES, json=far)
    body = subscription(
        receiver.url,
        q="waterLevel>3",
        geoQ={
            "georel": "near;maxDistance==5000",
            "geometry": "Point",
            "coordinates": [106.5, 29.5],
        },
    )
    body["entities"] = [{"type": "FloodSensor", "idPattern": "FloodSensor:[0-9]$"}]
    subscribe(client, body)
    set_level(client, 2.0)  # below the threshold
    set_level(client, 5.0, "urn:ngsi-ld:FloodSensor:2")  # too far away
    set_level(client, 3.5)  # this one
    got = receiver.wait_for(1)
    assert len(receiver.quiet_for(0.3)) == 1
    assert got[0].body["data"][0]["id"] == "urn:ngsi-ld:FloodSensor:1"
    assert got[0].body["data"][0]["waterLevel"]["value"] == 3.5


def test_key_values_json_ld_and_receiver_info(client: TestClient, receiver: Receiver) -> None:
    client.post(ENTITIES, json=sensor())
    body = subscription(receiver.url)
    body["notification"] = {
        "format": "keyValues",
        "endpoint": {
            "uri": receiver.url,
            "accept": "application/ld+json",
            "receiverInfo": [{"key": "X-Auth-Token", "value": "dispatch-42"}],
        },
    }
    subscribe(client, body)
    set_level(client, 1.5)
    note = receiver.wait_for(1)[0]
    assert note.headers["X-Auth-Token"] == "dispatch-42"
    assert note.headers["Content-Type"] == "application/ld+json"
    [entity] = note.body["data"]
    assert entity["waterLevel"] == 1.5
    assert entity["@context"] == CORE


def test_show_changes_gives_previous_values(client: TestClient, receiver: Receiver) -> None:
    client.post(ENTITIES, json=sensor(level=1.0))
    body = subscription(receiver.url)
    body["notification"]["showChanges"] = True
    subscribe(client, body)
    set_level(client, 2.0)
    attr = receiver.wait_for(1)[0].body["data"][0]["waterLevel"]
    assert attr["value"] == 2.0
    assert attr["previousValue"] == 1.0


def test_deletion_trigger(client: TestClient, receiver: Receiver) -> None:
    client.post(ENTITIES, json=sensor())
    subscribe(client, subscription(receiver.url, notificationTrigger=["entityDeleted"]))
    set_level(client, 9.0)
    assert client.delete(f"{ENTITIES}/urn:ngsi-ld:FloodSensor:1").status_code == 204
    [entity] = receiver.wait_for(1)[0].body["data"]
    assert entity["id"] == "urn:ngsi-ld:FloodSensor:1"
    assert "deletedAt" in entity
    assert len(receiver.quiet_for(0.2)) == 1


def test_inactive_and_expired_subscriptions_are_silent(
    client: TestClient, receiver: Receiver
) -> None:
    client.post(ENTITIES, json=sensor())
    sub_id = subscribe(client, subscription(receiver.url, isActive=False))
    set_level(client, 1.0)
    assert receiver.quiet_for(0.3) == []
    client.patch(f"{SUBS}/{sub_id}", json={"isActive": True})
    set_level(client, 2.0)
    assert receiver.wait_for(1)[0].body["data"][0]["waterLevel"]["value"] == 2.0


def test_throttling_sends_the_latest_state_at_most_once_a_period(
    client: TestClient, receiver: Receiver
) -> None:
    client.post(ENTITIES, json=sensor())
    subscribe(client, subscription(receiver.url, throttling=1))
    for level in range(10):
        set_level(client, level)
    got = receiver.wait_for(2, seconds=5)
    assert len(receiver.quiet_for(1.5)) == 2
    assert got[1].at - got[0].at >= 0.9
    assert got[0].body["data"][0]["waterLevel"]["value"] == 0
    assert got[1].body["data"][0]["waterLevel"]["value"] == 9


def test_periodic_notifications(client: TestClient, receiver: Receiver) -> None:
    client.post(ENTITIES, json=sensor())
    client.post(ENTITIES, json=sensor("urn:ngsi-ld:FloodSensor:2", 7.0))
    subscribe(client, subscription(receiver.url, timeInterval=0.3, q="waterLevel>5"))
    got = receiver.wait_for(2, seconds=5)
    for note in got:
        assert [e["id"] for e in note.body["data"]] == ["urn:ngsi-ld:FloodSensor:2"]


def test_failed_deliveries_are_retried_in_order(client: TestClient, receiver: Receiver) -> None:
    client.post(ENTITIES, json=sensor())
    sub_id = subscribe(client, subscription(receiver.url))
    receiver.fail_next = 3
    for level in range(5):
        set_level(client, level)
    got = receiver.wait_for(5)
    assert [n.body["data"][0]["waterLevel"]["value"] for n in got] == list(range(5))
    assert receiver.refused == 3
    status = status_when(client, sub_id, lambda s: s.get("timesSent") == 5)
    assert status["timesFailed"] == 3
    assert status["status"] == "ok"
    assert "lastFailure" in status


def test_unreachable_endpoint_is_reported(client: TestClient) -> None:
    from tests.serve import free_port

    sub_id = subscribe(client, subscription(f"http://127.0.0.1:{free_port()}/nobody"))
    client.post(ENTITIES, json=sensor())
    status = status_when(client, sub_id, lambda s: s.get("status") == "failed")
    assert status["timesFailed"] >= 1


# -- conformance fixes (ETSI suite, subscriptions and notifications) --------------------


def refused(client: TestClient, body: dict[str, Any], status: int = 400) -> dict[str, Any]:
    response = client.post(SUBS, json=body)
    assert response.status_code == status, response.text
    problem: dict[str, Any] = response.json()
    return problem


@pytest.mark.parametrize(
    ("notification", "reason"),
    [
        ({"pick": ["id"], "omit": ["id"]}, "same member"),
        ({"pick": ["waterLevel"], "attributes": ["waterLevel"]}, "pick or omit"),
        ({"omit": ["status"], "attributes": ["waterLevel"]}, "pick or omit"),
        ({"pick": []}, "empty"),
        ({"omit": []}, "empty"),
        ({"format": "keyValues", "showChanges": True}, "normalized"),
        ({"format": "simplified", "showChanges": True}, "normalized"),
    ],
)
def test_bad_notification_params_are_refused(
    client: TestClient, receiver: Receiver, notification: dict[str, Any], reason: str
) -> None:
    body = subscription(receiver.url)
    body["notification"].update(notification)
    assert reason in refused(client, body)["detail"]


def test_invalid_csf_and_jsonld_context_are_refused(client: TestClient, receiver: Receiver) -> None:
    assert "csf" in refused(client, subscription(receiver.url, csf="(("))["detail"]
    problem = refused(client, subscription(receiver.url, jsonldContext="unknownContext"))
    assert problem["type"].endswith("BadRequestData")
    unknown = "https://example.org/never-registered.jsonld"
    problem = refused(client, subscription(receiver.url, jsonldContext=unknown), 504)
    assert problem["type"].endswith("LdContextNotAvailable")
    subscribe(client, subscription(receiver.url, jsonldContext=CORE))


def test_read_back_adds_default_triggers_not_is_active(
    client: TestClient, receiver: Receiver
) -> None:
    sub_id = subscribe(client, subscription(receiver.url, timeInterval=60))
    got = client.get(f"{SUBS}/{sub_id}").json()
    assert "isActive" not in got
    assert got["notificationTrigger"] == ["attributeCreated", "attributeUpdated"]
    paused = subscribe(client, subscription(receiver.url, isActive=False))
    assert client.get(f"{SUBS}/{paused}").json()["isActive"] is False


def test_patch_replaces_the_notification_member_whole(
    client: TestClient, receiver: Receiver
) -> None:
    sub_id = subscribe(client, subscription(receiver.url))
    response = client.patch(f"{SUBS}/{sub_id}", json={"notification": {"format": "keyValues"}})
    assert response.status_code == 400  # a NotificationParams without its endpoint
    new = {"format": "keyValues", "endpoint": {"uri": receiver.url}}
    assert client.patch(f"{SUBS}/{sub_id}", json={"notification": new}).status_code == 204
    assert client.get(f"{SUBS}/{sub_id}").json()["notification"]["format"] == "keyValues"


def test_page_links_carry_the_response_media_type(client: TestClient, receiver: Receiver) -> None:
    for _ in range(3):
        subscribe(client, subscription(receiver.url))
    response = client.get(
        SUBS, params={"limit": 1, "offset": 1}, headers={"Accept": "application/ld+json"}
    )
    links = response.headers["Link"]
    assert 'rel="prev";type="application/ld+json"' in links
    assert 'rel="next";type="application/ld+json"' in links


def test_names_are_compacted_with_the_readers_context(
    client: TestClient, receiver: Receiver
) -> None:
    body = subscription(receiver.url, watchedAttributes=["level"])
    body["notification"]["attributes"] = ["level"]
    body["@context"] = [
        {"FloodSensor": "https://example.org/FloodSensor", "level": "https://example.org/level"},
        CORE,
    ]
    response = client.post(
        SUBS, content=json.dumps(body), headers={"Content-Type": "application/ld+json"}
    )
    assert response.status_code == 201, response.text
    sub_id = response.headers["Location"].rsplit("/", 1)[1]
    got = client.get(f"{SUBS}/{sub_id}").json()  # read with the core context only
    assert got["entities"] == [{"type": "https://example.org/FloodSensor"}]
    assert got["watchedAttributes"] == ["https://example.org/level"]
    assert got["notification"]["attributes"] == ["https://example.org/level"]
    again = client.get(f"{SUBS}/{sub_id}", headers={"Accept": "application/ld+json"})
    assert again.json()["entities"] == [{"type": "https://example.org/FloodSensor"}]


def test_pick_and_omit_project_the_notified_entity(client: TestClient, receiver: Receiver) -> None:
    client.post(ENTITIES, json=sensor())
    picked = subscription(receiver.url)
    picked["notification"]["pick"] = ["id", "waterLevel"]
    subscribe(client, picked)
    set_level(client, 2.0)
    [entity] = receiver.wait_for(1)[0].body["data"]
    assert set(entity) == {"id", "waterLevel"}
    receiver.received.clear()
    client.delete(SUBS + "/" + client.get(SUBS).json()[0]["id"])
    omitted = subscription(receiver.url)
    omitted["notification"]["omit"] = ["type", "status", "location"]
    subscribe(client, omitted)
    set_level(client, 3.0)
    [entity] = receiver.wait_for(1)[0].body["data"]
    assert set(entity) == {"id", "waterLevel"}


def test_dataset_id_selects_the_notified_instances(client: TestClient, receiver: Receiver) -> None:
    entity = sensor()
    entity["waterLevel"] = [
        {"type": "Property", "value": 1.0},
        {"type": "Property", "value": 1.1, "datasetId": "urn:ngsi-ld:Dataset:radar"},
    ]
    client.post(ENTITIES, json=entity)
    subscribe(client, subscription(receiver.url, datasetId=["urn:ngsi-ld:Dataset:radar"]))
    set_level(client, 2.0)
    attr = receiver.wait_for(1)[0].body["data"][0]["waterLevel"]
    assert attr == {"type": "Property", "value": 1.1, "datasetId": "urn:ngsi-ld:Dataset:radar"}
    assert "datasetId" in refused(client, subscription(receiver.url, datasetId="x"))["detail"]


def test_a_single_context_url_in_an_array_is_sent_as_link(
    client: TestClient, receiver: Receiver
) -> None:
    client.post(ENTITIES, json=sensor())
    body = subscription(receiver.url, **{"@context": [CORE]})
    response = client.post(
        SUBS, content=json.dumps(body), headers={"Content-Type": "application/ld+json"}
    )
    assert response.status_code == 201, response.text
    set_level(client, 2.0)
    assert CORE in receiver.wait_for(1)[0].headers["Link"]


def test_key_values_with_sys_attrs_has_entity_timestamps(
    client: TestClient, receiver: Receiver
) -> None:
    client.post(ENTITIES, json=sensor())
    body = subscription(receiver.url)
    body["notification"].update(format="keyValues", sysAttrs=True)
    subscribe(client, body)
    set_level(client, 2.0)
    [entity] = receiver.wait_for(1)[0].body["data"]
    assert "createdAt" in entity and "modifiedAt" in entity
    assert entity["waterLevel"] == 2.0


def test_a_deleted_attribute_is_notified_as_ngsi_ld_null(
    client: TestClient, receiver: Receiver
) -> None:
    client.post(ENTITIES, json=sensor())
    body = subscription(receiver.url, notificationTrigger=["attributeDeleted"])
    body["notification"]["showChanges"] = True
    subscribe(client, body)
    assert client.delete(f"{ENTITIES}/urn:ngsi-ld:FloodSensor:1/attrs/status").status_code == 204
    [entity] = receiver.wait_for(1)[0].body["data"]
    assert entity["status"] == {
        "type": "Property",
        "value": "urn:ngsi-ld:null",
        "previousValue": "ok",
    }


def test_entity_deletion_with_show_changes_and_sys_attrs(
    client: TestClient, receiver: Receiver
) -> None:
    client.post(ENTITIES, json=sensor())
    body = subscription(receiver.url, notificationTrigger=["entityDeleted"])
    body["notification"].update(showChanges=True, sysAttrs=True)
    subscribe(client, body)
    assert client.delete(f"{ENTITIES}/urn:ngsi-ld:FloodSensor:1").status_code == 204
    [entity] = receiver.wait_for(1)[0].body["data"]
    assert {"createdAt", "modifiedAt", "deletedAt"} <= set(entity)
    level = entity["waterLevel"]
    assert level["value"] == "urn:ngsi-ld:null"
    assert level["previousValue"] == 1.0
    assert "deletedAt" in level
    assert entity["location"]["previousValue"]["type"] == "Point"


def test_entity_deletion_without_show_changes_is_id_type_and_times(
    client: TestClient, receiver: Receiver
) -> None:
    client.post(ENTITIES, json=sensor())
    body = subscription(receiver.url, notificationTrigger=["entityDeleted"])
    body["notification"].update(format="keyValues", sysAttrs=True)
    subscribe(client, body)
    assert client.delete(f"{ENTITIES}/urn:ngsi-ld:FloodSensor:1").status_code == 204
    [entity] = receiver.wait_for(1)[0].body["data"]
    assert set(entity) == {"id", "type", "createdAt", "modifiedAt", "deletedAt"}


def test_previous_vocab_is_compacted(client: TestClient, receiver: Receiver) -> None:
    entity = sensor()
    entity["category"] = {"type": "VocabProperty", "vocab": "monument"}
    client.post(ENTITIES, json=entity)
    body = subscription(receiver.url)
    body["notification"]["showChanges"] = True
    subscribe(client, body)
    client.patch(
        f"{ENTITIES}/urn:ngsi-ld:FloodSensor:1/attrs",
        json={"category": {"type": "VocabProperty", "vocab": "museum"}},
    )
    attr = receiver.wait_for(1)[0].body["data"][0]["category"]
    assert attr["vocab"] == "museum"
    assert attr["previousVocab"] == "monument"


def test_percent_escapes_in_q_and_simplified_format(client: TestClient, receiver: Receiver) -> None:
    entity = sensor()
    entity["name"] = {"type": "Property", "value": "Jialing River"}
    client.post(ENTITIES, json=entity)
    body = subscription(receiver.url, q='name=="Jialing%20River"')
    body["notification"]["format"] = "simplified"
    sub_id = subscribe(client, body)
    set_level(client, 4.0)
    assert receiver.wait_for(1)[0].body["data"][0]["waterLevel"] == 4.0
    assert client.get(f"{SUBS}/{sub_id}").json()["notification"]["format"] == "simplified"


def test_instances_and_whole_attributes_deleted(client: TestClient, receiver: Receiver) -> None:
    from cityos.context.entity import Entity, EntityChange
    from cityos.context.jsonld import ContextResolver
    from cityos.events.notification import entity_data
    from cityos.events.subscription import compile_subscription

    level = "https://uri.etsi.org/ngsi-ld/default-context/waterLevel"
    default = {"type": "Property", "value": 1.0}
    gauge = {"type": "Property", "value": 1.2, "datasetId": "urn:ngsi-ld:Dataset:gauge"}
    before = Entity("urn:ngsi-ld:FloodSensor:1", ["FloodSensor"], {level: [default, gauge]})
    after = Entity("urn:ngsi-ld:FloodSensor:1", ["FloodSensor"], {level: [default]})
    doc = subscription(receiver.url, notificationTrigger=["attributeDeleted"])
    sub = compile_subscription("", doc, ContextResolver().core)
    one_instance = entity_data(sub, EntityChange(before.id, before, after), "now")
    assert one_instance["waterLevel"] == [
        default,
        {"type": "Property", "value": "urn:ngsi-ld:null", "datasetId": gauge["datasetId"]},
    ]

    entity = sensor()  # deleteAll: the attribute is gone, notified once, without datasetId
    entity["waterLevel"] = [default, gauge]
    client.post(ENTITIES, json=entity)
    subscribe(client, doc)
    url = f"{ENTITIES}/urn:ngsi-ld:FloodSensor:1/attrs/waterLevel"
    assert client.delete(url, params={"deleteAll": "true"}).status_code == 204
    notified = receiver.wait_for(1)[0].body["data"][0]["waterLevel"]
    assert notified == {"type": "Property", "value": "urn:ngsi-ld:null"}


def test_media_types_are_checked_before_the_subscription_exists(
    client: TestClient, receiver: Receiver
) -> None:
    missing = f"{SUBS}/urn:ngsi-ld:Subscription:missing"
    assert client.get(missing, headers={"Accept": "text/csv"}).status_code == 406
    response = client.patch(missing, content=b"{}", headers={"Content-Type": "text/plain"})
    assert response.status_code == 415
    sub_id = subscribe(client, subscription(receiver.url))
    response = client.patch(
        f"{SUBS}/{sub_id}",
        content=json.dumps({"isActive": False}),
        headers={"Content-Type": "application/merge-patch+json"},
    )
    assert response.status_code == 204
    assert client.get(f"{SUBS}/{sub_id}").json()["status"] == "paused"


def test_https_endpoints_are_verified(store: Store) -> None:
    """A webhook over TLS: delivered when its certificate is signed by the configured CA,
    refused (and reported) when it is not."""
    authority = trustme.CA()
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    authority.issue_cert("127.0.0.1").configure_cert(server_tls)
    client_tls = ssl.create_default_context()
    authority.configure_trust(client_tls)
    with receiving(server_tls) as receiver:
        settings = Settings(notify_tls=client_tls, notify_policy=LOOPBACK)
        with TestClient(create_app(store, settings)) as trusting:
            sub_id = subscribe(trusting, subscription(receiver.url))
            trusting.post(ENTITIES, json=sensor())
            note = receiver.wait_for(1)[0]
            assert note.body["subscriptionId"] == sub_id
        with TestClient(
            create_app(store, Settings(notify_policy=LOOPBACK))
        ) as default:  # the system CAs know no such CA
            default.post(ENTITIES, json=sensor("urn:ngsi-ld:FloodSensor:2"))
            status = status_when(default, sub_id, lambda s: s.get("status") == "failed")
            assert status["timesFailed"] >= 1
        assert len(receiver.received) == 1


def test_deleting_one_instance_or_the_entity_is_attribute_deleted(
    client: TestClient, receiver: Receiver
) -> None:
    entity = sensor()
    gauge = {"type": "Property", "value": 1.2, "datasetId": "urn:ngsi-ld:Dataset:gauge"}
    entity["waterLevel"] = [{"type": "Property", "value": 1.0}, gauge]
    client.post(ENTITIES, json=entity)
    subscribe(
        client,
        subscription(
            receiver.url, watchedAttributes=["waterLevel"], notificationTrigger=["attributeDeleted"]
        ),
    )
    set_level(client, 2.0)  # an update, not a deletion: silent
    url = f"{ENTITIES}/urn:ngsi-ld:FloodSensor:1/attrs/waterLevel"
    assert client.delete(url, params={"datasetId": gauge["datasetId"]}).status_code == 204
    first = receiver.wait_for(1)[0].body["data"][0]
    assert {"value": "urn:ngsi-ld:null", "datasetId": gauge["datasetId"]}.items() <= {
        k: v for i in first["waterLevel"] for k, v in i.items() if "datasetId" in i
    }.items()
    assert client.delete(f"{ENTITIES}/urn:ngsi-ld:FloodSensor:1").status_code == 204
    second = receiver.wait_for(2)[1].body["data"][0]
    assert second["id"] == "urn:ngsi-ld:FloodSensor:1"
    assert len(receiver.quiet_for(0.3)) == 2


def test_notifications_speak_the_subscriptions_json_ld_context(
    client: TestClient, receiver: Receiver
) -> None:
    vocabulary = {"@context": {"level": "https://uri.etsi.org/ngsi-ld/default-context/waterLevel"}}
    hosted = client.post("/ngsi-ld/v1/jsonldContexts", json=vocabulary)
    assert hosted.status_code == 201, hosted.text
    local_id = hosted.headers["Location"].rsplit("/", 1)[1]
    listed = client.get("/ngsi-ld/v1/jsonldContexts", params={"details": "true"}).json()
    url = next(c["URL"] for c in listed if c["localId"] == local_id)
    client.post(ENTITIES, json=sensor())
    subscribe(client, subscription(receiver.url, jsonldContext=url))
    set_level(client, 3.0)
    note = receiver.wait_for(1)[0]
    assert note.body["data"][0]["level"]["value"] == 3.0
    assert url in note.headers["Link"]


def test_an_unresolvable_host_is_accepted_then_refused_at_delivery(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    import socket

    def no_dns(*args: object, **kwargs: object) -> None:
        raise socket.gaierror("no such name (test)")

    monkeypatch.setattr(socket, "getaddrinfo", no_dns)  # no DNS query leaves the machine
    sub_id = subscribe(client, subscription("http://pumps.example.invalid/alarm"))
    client.post(ENTITIES, json=sensor())
    status = status_when(client, sub_id, lambda s: s.get("status") == "failed")
    assert status["timesFailed"] >= 1


def test_a_slow_endpoint_queues_on_disk_and_keeps_the_order(
    client: TestClient, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    from cityos.events import notifier

    monkeypatch.setattr(notifier, "MAX_QUEUED", 3)
    client.post(ENTITIES, json=sensor())
    subscribe(client, subscription(receiver.url))
    receiver.hang_next = 1  # the endpoint stalls on the first notification
    for level in range(12):
        set_level(client, level)
    receiver.release.set()
    got = receiver.wait_for(12, seconds=15)  # the stalled one failed and was retried
    assert [n.body["data"][0]["waterLevel"]["value"] for n in got] == list(range(12))
    assert len(receiver.quiet_for(0.3)) == 12


def test_patching_a_subscription_keeps_what_it_owes(client: TestClient, receiver: Receiver) -> None:
    client.post(ENTITIES, json=sensor())
    sub_id = subscribe(client, subscription(receiver.url))
    receiver.hang_next = 1
    for level in range(5):
        set_level(client, level)
    assert client.patch(f"{SUBS}/{sub_id}", json={"subscriptionName": "renamed"}).status_code == 204
    receiver.release.set()
    got = receiver.wait_for(5, seconds=15)
    assert [n.body["data"][0]["waterLevel"]["value"] for n in got] == list(range(5))


def test_deleting_a_stalled_subscription_releases_its_changes(
    client: TestClient, receiver: Receiver
) -> None:
    """Otherwise the change log could never be trimmed, and a restart would notify the other
    subscriptions again of everything since."""
    notifier = client.app.state.notifier  # type: ignore[attr-defined]
    client.post(ENTITIES, json=sensor())
    stalled = subscribe(client, subscription(receiver.url))
    receiver.hang_next = 1
    for level in range(5):
        set_level(client, level)
    assert client.delete(f"{SUBS}/{stalled}").status_code == 204
    receiver.release.set()
    for _ in range(100):
        if not notifier._outstanding:
            break
        time.sleep(0.02)
    assert not notifier._outstanding


def test_throttling_keeps_one_item_per_entity_in_memory(
    client: TestClient, receiver: Receiver
) -> None:
    notifier = client.app.state.notifier  # type: ignore[attr-defined]
    client.post(ENTITIES, json=sensor())
    client.post(ENTITIES, json=sensor("urn:ngsi-ld:FloodSensor:2"))
    sub_id = subscribe(client, subscription(receiver.url, throttling=3600))
    set_level(client, -1.0)
    receiver.wait_for(1)  # the first change goes out at once; the period starts
    for level in range(30):
        set_level(
            client, level, "urn:ngsi-ld:FloodSensor:1" if level % 2 else "urn:ngsi-ld:FloodSensor:2"
        )
    active = notifier._active[("", sub_id)]
    for _ in range(100):
        if len(active.latest) == 2:
            break
        time.sleep(0.02)
    assert len(active.latest) == 2
    assert active.queue.qsize() <= 1


def test_non_ascii_header_values_are_refused_and_urls_encoded(
    client: TestClient, receiver: Receiver
) -> None:
    body = subscription(receiver.url)
    body["notification"]["endpoint"]["receiverInfo"] = [{"key": "X-City", "value": "重庆"}]
    response = client.post(SUBS, json=body)
    assert response.status_code == 400
    assert "ASCII" in response.json()["detail"]
    subscribe(client, subscription(receiver.url.replace("/notify", "/通知?城市=重庆")))
    client.post(ENTITIES, json=sensor())
    note = receiver.wait_for(1)[0]
    assert note.path == "/%E9%80%9A%E7%9F%A5?%E5%9F%8E%E5%B8%82=%E9%87%8D%E5%BA%86"


def test_delivery_connects_to_the_address_that_was_checked(
    store: Store, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: a name that resolves to an allowed address when checked and to a
    denied one a moment later must not reach the denied one."""
    import socket

    from cityos.events.endpoints import EndpointPolicy

    # Checked at creation and at delivery: 127.0.0.2 (allowed, nobody listens); asked again,
    # the name would say 127.0.0.1, where the receiver listens and which is denied (loopback
    # is, by default).
    answers = iter(["127.0.0.2", "127.0.0.2"] + ["127.0.0.1"] * 50)

    def rebinding(host: str, port: object, *args: object, **kwargs: object) -> list[Any]:
        if host != "rebind.test":
            raise socket.gaierror("no such name (test)")
        address = next(answers)
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (address, port or 0))]

    monkeypatch.setattr(socket, "getaddrinfo", rebinding)
    settings = Settings(notify_policy=EndpointPolicy.from_lists(allow=["127.0.0.2/32"]))
    with TestClient(create_app(store, settings)) as client:
        url = receiver.url.replace("127.0.0.1", "rebind.test")
        sub_id = subscribe(client, subscription(url))
        client.post(ENTITIES, json=sensor())
        status = status_when(client, sub_id, lambda s: s.get("status") == "failed")
        assert status["timesFailed"] >= 1
    assert receiver.received == []


def test_the_status_of_a_notification_is_recorded_at_once(
    client: TestClient, receiver: Receiver
) -> None:
    """Issue 16, item 10 (ETSI 046_12_01 was flaky): lastNotification was noted before the
    delivery and its outcome after it, so a read in between saw lastNotification with no
    status nor lastSuccess. All three are now recorded together, once the attempt ended."""
    client.post(ENTITIES, json=sensor())
    sub_id = subscribe(client, subscription(receiver.url))
    receiver.hang_next = 1  # the endpoint holds the notification
    set_level(client, 4.2)
    for _ in range(500):
        if receiver.hung:
            break
        time.sleep(0.01)
    assert receiver.hung == 1
    during = client.get(f"{SUBS}/{sub_id}").json()["notification"]
    receiver.release.set()
    assert "lastNotification" not in during or "status" in during, during
    status = status_when(client, sub_id, lambda s: "lastSuccess" in s)
    assert {"lastNotification", "lastSuccess", "status"} <= status.keys()
