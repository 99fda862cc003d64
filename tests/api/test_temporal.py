"""The temporal API through HTTP: history recorded by ordinary entity writes, then queried."""

from __future__ import annotations

import math
import time
from typing import Any

import pytest
from starlette.testclient import TestClient

from cityos.api.app import create_app
from cityos.store.base import Store

from .helpers import ENTITIES, problem_type

TEMPORAL = "/ngsi-ld/v1/temporal/entities"
QUERY = "/ngsi-ld/v1/temporal/entityOperations/query"
S1, S2, BUS = "urn:ngsi-ld:Sensor:1", "urn:ngsi-ld:Sensor:2", "urn:ngsi-ld:Bus:1"
S1_TEMPS = [(10, "2026-01-01T00:00:00Z"), (20, "2026-01-01T00:30:00Z")]
S1_TEMPS += [(30, "2026-01-01T01:10:00Z"), (40, "2026-01-01T02:05:00Z")]
S2_TEMPS = [(5, "2026-01-01T00:10:00Z"), (5, "2026-01-01T00:20:00Z"), (8, "2026-01-01T01:00:00Z")]


def temp(value: float, at: str) -> dict[str, Any]:
    return {"type": "Property", "value": value, "observedAt": at}


def record(client: TestClient, entity_id: str, kind: str, temps: list[tuple[float, str]]) -> None:
    """Create the entity with the first reading, then PATCH each following one."""
    first, *rest = temps
    body = {"id": entity_id, "type": kind, "temp": temp(*first)}
    assert client.post(ENTITIES, json=body).status_code == 201
    for reading in rest:
        response = client.patch(f"{ENTITIES}/{entity_id}/attrs", json={"temp": temp(*reading)})
        assert response.status_code == 204


@pytest.fixture
def city(client: TestClient) -> TestClient:
    record(client, S1, "Sensor", S1_TEMPS)
    record(client, S2, "Sensor", S2_TEMPS)
    record(client, BUS, "Bus", [(1, "2026-01-01T00:00:00Z")])
    return client


def get(client: TestClient, path: str = TEMPORAL, **params: Any) -> Any:
    response = client.get(path, params=params)
    assert response.status_code == 200, response.text
    return response.json()


def by_id(body: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    return {item["id"]: item for item in body}


def series(item: dict[str, Any], attr: str = "temp") -> list[tuple[Any, str]]:
    return [(inst["value"], inst["observedAt"]) for inst in item[attr]]


# -- instances -------------------------------------------------------------------------------


def test_every_write_is_an_instance_in_time_order_with_an_instance_id(city: TestClient) -> None:
    found = by_id(get(city, type="Sensor"))
    assert set(found) == {S1, S2}
    assert series(found[S1]) == S1_TEMPS
    assert series(found[S2]) == S2_TEMPS
    ids = [inst["instanceId"] for item in found.values() for inst in item["temp"]]
    assert len(set(ids)) == len(ids) and all(i.startswith("urn:") for i in ids)
    assert "createdAt" not in found[S1]["temp"][0]
    with_sys = get(city, type="Sensor", id=S1, options="sysAttrs")[0]
    assert "modifiedAt" in with_sys["temp"][0] and "createdAt" in with_sys


def test_intervals_are_half_open(city: TestClient) -> None:
    after = get(city, id=S1, timerel="after", timeAt="2026-01-01T00:30:00Z")[0]
    assert [v for v, _ in series(after)] == [20, 30, 40]
    before = get(city, id=S1, timerel="before", timeAt="2026-01-01T01:10:00Z")[0]
    assert [v for v, _ in series(before)] == [10, 20]
    between = get(
        city,
        id=S1,
        timerel="between",
        timeAt="2026-01-01T00:30:00Z",
        endTimeAt="2026-01-01T02:05:00Z",
    )[0]
    assert [v for v, _ in series(between)] == [20, 30]


def test_entities_without_instances_in_the_interval_are_left_out(city: TestClient) -> None:
    found = get(city, type="Sensor,Bus", timerel="after", timeAt="2026-01-01T01:30:00Z")
    assert [item["id"] for item in found] == [S1]


def test_last_n_keeps_the_latest_instances_per_attribute_in_time_order(city: TestClient) -> None:
    found = by_id(get(city, type="Sensor", lastN="2"))
    assert [v for v, _ in series(found[S1])] == [30, 40]
    assert [v for v, _ in series(found[S2])] == [5, 8]
    windowed = get(city, id=S1, lastN="1", timerel="before", timeAt="2026-01-01T01:00:00Z")
    assert [v for v, _ in series(windowed[0])] == [20]


def test_q_sees_only_the_instances_inside_the_interval(city: TestClient) -> None:
    assert {e["id"] for e in get(city, type="Sensor", q="temp>35")} == {S1}
    early = get(city, type="Sensor", q="temp>35", timerel="before", timeAt="2026-01-01T02:00:00Z")
    assert early == []
    assert {e["id"] for e in get(city, type="Sensor", q="temp==8")} == {S2}


def test_selectors_id_pattern_type_and_attrs(city: TestClient) -> None:
    assert [e["id"] for e in get(city, idPattern="Sensor:2$")] == [S2]
    assert [e["id"] for e in get(city, type="Bus")] == [BUS]
    city.patch(f"{ENTITIES}/{S1}/attrs", json={"humidity": temp(50, "2026-01-01T03:00:00Z")})
    only = get(city, id=S1, attrs="humidity")[0]
    assert set(only) == {"id", "type", "humidity"}
    assert [e["id"] for e in get(city, attrs="humidity")] == [S1]


def test_scope_q_and_geo_query(client: TestClient) -> None:
    place = {"type": "Point", "coordinates": [106.55, 29.56]}
    far = {"type": "Point", "coordinates": [2.29, 48.85]}
    for n, (where, scope) in enumerate([(place, "/cq/yuzhong"), (far, "/paris")]):
        body = {
            "id": f"urn:ngsi-ld:Bin:{n}",
            "type": "Bin",
            "scope": scope,
            "location": {"type": "GeoProperty", "value": where},
        }
        assert client.post(ENTITIES, json=body).status_code == 201
    near = get(
        client,
        type="Bin",
        georel="near;maxDistance==1000",
        geometry="Point",
        coordinates="[106.551,29.561]",
    )
    assert [e["id"] for e in near] == ["urn:ngsi-ld:Bin:0"]
    assert [e["id"] for e in get(client, type="Bin", scopeQ="/paris")] == ["urn:ngsi-ld:Bin:1"]


def test_pages_carry_count_and_links(city: TestClient) -> None:
    response = city.get(TEMPORAL, params={"type": "Sensor,Bus", "limit": "1", "count": "true"})
    assert response.status_code == 200
    assert response.headers["NGSILD-Results-Count"] == "3"
    assert [e["id"] for e in response.json()] == [BUS]
    assert 'rel="next"' in response.headers["Link"] and "offset=1" in response.headers["Link"]
    second = get(city, type="Sensor,Bus", limit="1", offset="1")
    assert [e["id"] for e in second] == [S1]


def test_retrieve_one_entity(city: TestClient) -> None:
    body = get(city, f"{TEMPORAL}/{S1}", timerel="after", timeAt="2026-01-01T01:00:00Z")
    assert body["id"] == S1 and body["type"] == "Sensor"
    assert [v for v, _ in series(body)] == [30, 40]
    empty = get(city, f"{TEMPORAL}/{S1}", timerel="after", timeAt="2027-01-01T00:00:00Z")
    assert empty == {"id": S1, "type": "Sensor"}
    missing = city.get(f"{TEMPORAL}/urn:ngsi-ld:Sensor:none")
    assert missing.status_code == 404 and problem_type(missing) == "ResourceNotFound"


def test_deleting_the_entity_keeps_its_history(city: TestClient) -> None:
    assert city.delete(f"{ENTITIES}/{S2}").status_code == 204
    assert series(get(city, f"{TEMPORAL}/{S2}")) == S2_TEMPS


# -- simplified representation ------------------------------------------------------------


def test_temporal_values_per_attribute_type(client: TestClient) -> None:
    at = ["2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"]
    body = {
        "id": S1,
        "type": "Sensor",
        "temp": temp(1, at[0]),
        "owner": {"type": "Relationship", "object": "urn:ngsi-ld:Person:a", "observedAt": at[0]},
        "label": {"type": "LanguageProperty", "languageMap": {"en": "one"}, "observedAt": at[0]},
    }
    assert client.post(ENTITIES, json=body).status_code == 201
    update = {
        "temp": temp(2, at[1]),
        "owner": {"type": "Relationship", "object": "urn:ngsi-ld:Person:b", "observedAt": at[1]},
        "label": {"type": "LanguageProperty", "languageMap": {"en": "two"}, "observedAt": at[1]},
    }
    assert client.patch(f"{ENTITIES}/{S1}/attrs", json=update).status_code == 204
    found = get(client, f"{TEMPORAL}/{S1}", options="temporalValues")
    assert found["temp"] == {"type": "Property", "values": [[1, at[0]], [2, at[1]]]}
    assert found["owner"] == {
        "type": "Relationship",
        "objects": [["urn:ngsi-ld:Person:a", at[0]], ["urn:ngsi-ld:Person:b", at[1]]],
    }
    assert found["label"] == {
        "type": "LanguageProperty",
        "languageMaps": [
            [{"languageMap": {"en": "one"}}, at[0]],
            [{"languageMap": {"en": "two"}}, at[1]],
        ],
    }
    by_modification = get(
        client, f"{TEMPORAL}/{S1}", options="temporalValues", timeproperty="modifiedAt"
    )
    assert [p[1] for p in by_modification["temp"]["values"]] != at


# -- aggregation ---------------------------------------------------------------------------


def aggregated(client: TestClient, methods: str, **params: Any) -> dict[str, Any]:
    return get(
        client,
        f"{TEMPORAL}/{S1}",
        options="aggregatedValues",
        aggrMethods=methods,
        **params,
    )["temp"]


def test_hourly_aggregates_match_hand_computed_values(city: TestClient) -> None:
    methods = "totalCount,distinctCount,sum,avg,min,max,stddev,sumsq"
    found = aggregated(city, methods, aggrPeriodDuration="PT1H")
    hours = [
        ("2026-01-01T00:00:00Z", "2026-01-01T01:00:00Z"),
        ("2026-01-01T01:00:00Z", "2026-01-01T02:00:00Z"),
        ("2026-01-01T02:00:00Z", "2026-01-01T03:00:00Z"),
    ]
    assert found["type"] == "Property"
    assert found["totalCount"] == [[2, *hours[0]], [1, *hours[1]], [1, *hours[2]]]
    assert found["avg"] == [[15, *hours[0]], [30, *hours[1]], [40, *hours[2]]]
    assert found["sum"] == [[30, *hours[0]], [30, *hours[1]], [40, *hours[2]]]
    assert found["min"][0][0] == 10 and found["max"][0][0] == 20
    assert found["sumsq"][0][0] == 10**2 + 20**2
    assert math.isclose(found["stddev"][0][0], math.sqrt(50))  # sample: ((5² + 5²) / 1) ** .5
    assert found["stddev"][1][0] is None  # one value has no sample deviation
    assert [p[0] for p in found["distinctCount"]] == [2, 1, 1]


def test_distinct_count_compares_values(city: TestClient) -> None:
    found = get(
        city,
        f"{TEMPORAL}/{S2}",
        options="aggregatedValues",
        aggrMethods="distinctCount,totalCount",
        aggrPeriodDuration="PT30M",
    )["temp"]
    assert [p[0] for p in found["distinctCount"]] == [1, 1]
    assert [p[0] for p in found["totalCount"]] == [2, 1]


def test_periods_start_at_time_at_or_at_the_first_instance(city: TestClient) -> None:
    shifted = aggregated(
        city, "avg", aggrPeriodDuration="PT1H", timerel="after", timeAt="2025-12-31T23:30:00Z"
    )
    assert shifted["avg"] == [
        [10, "2025-12-31T23:30:00Z", "2026-01-01T00:30:00Z"],
        [25, "2026-01-01T00:30:00Z", "2026-01-01T01:30:00Z"],
        [40, "2026-01-01T01:30:00Z", "2026-01-01T02:30:00Z"],
    ]
    s2 = get(
        city,
        f"{TEMPORAL}/{S2}",
        options="aggregatedValues",
        aggrMethods="max",
        aggrPeriodDuration="PT30M",
    )
    assert s2["temp"]["max"] == [
        [5, "2026-01-01T00:10:00Z", "2026-01-01T00:40:00Z"],
        [8, "2026-01-01T00:40:00Z", "2026-01-01T01:10:00Z"],
    ]


def test_without_a_duration_the_interval_is_one_period(city: TestClient) -> None:
    whole = aggregated(
        city,
        "avg,totalCount",
        timerel="between",
        timeAt="2026-01-01T00:00:00Z",
        endTimeAt="2026-01-02T00:00:00Z",
    )
    assert whole["avg"] == [[25, "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"]]
    assert whole["totalCount"][0][0] == 4
    daily = aggregated(city, "avg", aggrPeriodDuration="P1D")
    assert daily["avg"] == [[25, "2026-01-01T00:00:00Z", "2026-01-02T00:00:00Z"]]


def test_post_query_with_temporal_q_and_aggr_params(city: TestClient) -> None:
    query = {
        "type": "Query",
        "entities": [{"type": "Sensor"}],
        "temporalQ": {"timerel": "before", "timeAt": "2026-01-01T01:00:00Z"},
        "aggrParams": {"aggrMethods": ["max"], "aggrPeriodDuration": "PT1H"},
    }
    found = by_id(city.post(QUERY, json=query).json())
    assert found[S1]["temp"]["max"][0][0] == 20
    assert found[S2]["temp"]["max"][0][0] == 5
    plain = {**query, "temporalQ": {"lastN": 1}}
    del plain["aggrParams"]
    response = city.post(QUERY, json=plain)
    assert response.status_code == 200
    assert [v for v, _ in series(by_id(response.json())[S1])] == [40]


# -- errors --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "params",
    [
        {"timerel": "during", "timeAt": "2026-01-01T00:00:00Z"},
        {"timerel": "after"},
        {"timerel": "after", "timeAt": "yesterday"},
        {"timerel": "after", "timeAt": "2026-01-01"},
        {"timerel": "between", "timeAt": "2026-01-01T00:00:00Z"},
        {"timeAt": "2026-01-01T00:00:00Z"},
        {"timeproperty": "observedat"},
        {"lastN": "0"},
        {"lastN": "two"},
        {"options": "aggregatedValues", "aggrMethods": "median"},
        {"options": "aggregatedValues"},
        {"options": "aggregatedValues", "aggrMethods": "avg", "aggrPeriodDuration": "1 hour"},
        {"options": "aggregatedValues", "aggrMethods": "avg", "aggrPeriodDuration": "P1M"},
        {"options": "aggregatedValues", "aggrMethods": "avg", "aggrPeriodDuration": "PT"},
        {"aggrMethods": "avg"},
        {"options": "temporalValues,aggregatedValues", "aggrMethods": "avg"},
    ],
)
def test_bad_temporal_parameters_are_bad_request_data(
    city: TestClient, params: dict[str, str]
) -> None:
    response = city.get(TEMPORAL, params={"type": "Sensor", **params})
    assert response.status_code == 400, response.text
    assert problem_type(response) == "BadRequestData"
    assert response.json()["title"]


def test_a_query_needs_a_selector(city: TestClient) -> None:
    response = city.get(TEMPORAL, params={"timerel": "after", "timeAt": "2026-01-01T00:00:00Z"})
    assert response.status_code == 400 and problem_type(response) == "BadRequestData"


def test_unknown_tenant_is_reported(city: TestClient) -> None:
    response = city.get(TEMPORAL, params={"type": "Sensor"}, headers={"NGSILD-Tenant": "nope"})
    assert response.status_code == 404 and problem_type(response) == "NonexistentTenant"


# -- writing the history directly ----------------------------------------------------------

V = "urn:ngsi-ld:Vehicle:t1"
VEHICLE = {
    "id": V,
    "type": "Vehicle",
    "speed": [temp(120, "2020-08-01T12:03:00Z"), temp(80, "2020-08-01T12:05:00Z")],
    "fuel": [
        {**temp(67, "2020-08-01T12:03:00Z"), "datasetId": "urn:ngsi-ld:Dataset:a"},
        {**temp(53, "2020-08-01T13:05:00Z"), "datasetId": "urn:ngsi-ld:Dataset:a"},
        temp(40, "2020-08-01T14:07:00Z"),
    ],
}


def test_create_then_add_instances_leaves_the_current_entity_alone(client: TestClient) -> None:
    created = client.post(TEMPORAL, json=VEHICLE)
    assert created.status_code == 201
    assert created.headers["Location"] == f"{TEMPORAL}/{V}"
    again = client.post(
        TEMPORAL, json={"id": V, "type": "Vehicle", "speed": temp(100, "2020-08-01T12:07:00Z")}
    )
    assert again.status_code == 204
    found = get(client, f"{TEMPORAL}/{V}")
    assert [v for v, _ in series(found, "speed")] == [120, 80, 100]
    assert [inst.get("datasetId") for inst in found["fuel"]] == [
        "urn:ngsi-ld:Dataset:a",
        "urn:ngsi-ld:Dataset:a",
        None,
    ]
    only_a = get(client, f"{TEMPORAL}/{V}", datasetId="urn:ngsi-ld:Dataset:a")
    assert [v for v, _ in series(only_a, "fuel")] == [67, 53]
    assert client.get(f"{ENTITIES}/{V}").status_code == 404


def test_append_patch_and_delete_instances(client: TestClient) -> None:
    assert client.post(TEMPORAL, json=VEHICLE).status_code == 201
    appended = client.post(
        f"{TEMPORAL}/{V}/attrs", json={"speed": [temp(90, "2020-08-01T12:09:00Z")]}
    )
    assert appended.status_code == 204
    speeds = get(client, f"{TEMPORAL}/{V}")["speed"]
    assert [i["value"] for i in speeds] == [120, 80, 90]
    first = speeds[0]["instanceId"]
    patched = client.patch(f"{TEMPORAL}/{V}/attrs/speed/{first}", json={"value": 125})
    assert patched.status_code == 204
    speeds = get(client, f"{TEMPORAL}/{V}")["speed"]
    assert speeds[0]["value"] == 125 and speeds[0]["observedAt"] == "2020-08-01T12:03:00Z"
    assert client.delete(f"{TEMPORAL}/{V}/attrs/speed/{first}").status_code == 204
    assert [i["value"] for i in get(client, f"{TEMPORAL}/{V}")["speed"]] == [80, 90]
    gone = client.delete(f"{TEMPORAL}/{V}/attrs/speed/{first}")
    assert gone.status_code == 404 and problem_type(gone) == "ResourceNotFound"
    missing = client.post(
        f"{TEMPORAL}/urn:ngsi-ld:Vehicle:none/attrs",
        json={"speed": temp(1, "2020-08-01T12:09:00Z")},
    )
    assert missing.status_code == 404


def test_delete_attribute_history_by_dataset_or_all(client: TestClient) -> None:
    assert client.post(TEMPORAL, json=VEHICLE).status_code == 201
    assert client.delete(f"{TEMPORAL}/{V}/attrs/fuel").status_code == 204  # default only
    assert [i.get("datasetId") for i in get(client, f"{TEMPORAL}/{V}")["fuel"]] == [
        "urn:ngsi-ld:Dataset:a",
        "urn:ngsi-ld:Dataset:a",
    ]
    by_dataset = client.delete(
        f"{TEMPORAL}/{V}/attrs/fuel", params={"datasetId": "urn:ngsi-ld:Dataset:a"}
    )
    assert by_dataset.status_code == 204
    assert "fuel" not in get(client, f"{TEMPORAL}/{V}")
    assert (
        client.delete(f"{TEMPORAL}/{V}/attrs/speed", params={"deleteAll": "true"}).status_code
        == 204
    )
    assert client.delete(f"{TEMPORAL}/{V}/attrs/speed").status_code == 404


def test_delete_temporal_entity(client: TestClient) -> None:
    assert client.post(TEMPORAL, json=VEHICLE).status_code == 201
    assert client.delete(f"{TEMPORAL}/{V}").status_code == 204
    assert client.get(f"{TEMPORAL}/{V}").status_code == 404
    assert client.delete(f"{TEMPORAL}/{V}").status_code == 404


def test_temporal_writes_validate_instances(client: TestClient) -> None:
    offset = {**VEHICLE, "speed": [temp(1, "2020-08-01T12:03:00+03:00")]}
    response = client.post(TEMPORAL, json=offset)
    assert response.status_code == 400 and problem_type(response) == "BadRequestData"
    no_type = {k: v for k, v in VEHICLE.items() if k != "type"}
    assert client.post(TEMPORAL, json=no_type).status_code == 400


# -- retention -----------------------------------------------------------------------------


def test_retention_prunes_old_history_when_the_app_starts(store: Store, client: TestClient) -> None:
    assert client.post(TEMPORAL, json=VEHICLE).status_code == 201  # readings from 2020
    recent = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())
    client.post(f"{TEMPORAL}/{V}/attrs", json={"speed": temp(99, recent)})
    store.history.set_retention(None, 1)
    with TestClient(create_app(store)) as restarted:
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            kept = get(restarted, f"{TEMPORAL}/{V}")
            if "fuel" not in kept:
                break
            time.sleep(0.05)
    assert set(kept) == {"id", "type", "speed"}
    assert [v for v, _ in series(kept, "speed")] == [99]


# -- conformance (ETSI NGSI-LD suite, temporal folders) ------------------------------------


def bad_request(response: Any) -> bool:
    return bool(response.status_code == 400 and problem_type(response) == "BadRequestData")


def test_empty_entity_id_or_attribute_name_in_the_path_is_bad_request(client: TestClient) -> None:
    """014_02_01, 015_02_01, 016_02_02, 017_02_02, 017_02_05: 400, not a routing 404."""
    assert client.post(TEMPORAL, json=VEHICLE).status_code == 201
    fragment = {"speed": [temp(1, "2020-08-01T12:09:00Z")]}
    assert bad_request(client.post(f"{TEMPORAL}//attrs", json=fragment))
    assert bad_request(client.delete(f"{TEMPORAL}//attrs/speed"))
    instance = get(client, f"{TEMPORAL}/{V}")["speed"][0]["instanceId"]
    assert bad_request(client.patch(f"{TEMPORAL}//attrs/speed/{instance}", json={"value": 1}))
    assert bad_request(client.delete(f"{TEMPORAL}/{V}/attrs//{instance}"))


def test_instance_id_must_be_a_uri(client: TestClient) -> None:
    """016_02_03, 017_02_03: an instanceId that is no URI is BadRequestData."""
    assert client.post(TEMPORAL, json=VEHICLE).status_code == 201
    assert bad_request(client.patch(f"{TEMPORAL}/{V}/attrs/speed/invalidId", json={"value": 1}))
    assert bad_request(client.delete(f"{TEMPORAL}/{V}/attrs/speed/invalidId"))


@pytest.mark.parametrize("name", ["%2e%2e", "%252e%252e", "%2e"])
def test_dot_segment_attribute_names_are_refused(client: TestClient, name: str) -> None:
    """015_04: `..` would turn Delete Attribute into Delete Temporal Evolution via a proxy."""
    assert client.post(TEMPORAL, json=VEHICLE).status_code == 201
    assert bad_request(client.delete(f"{TEMPORAL}/{V}/attrs/{name}"))
    assert "speed" in get(client, f"{TEMPORAL}/{V}")


def test_temporal_values_compact_vocabs_and_keep_lists_bare(client: TestClient) -> None:
    """020_16_02 (VocabProperty compacted) and 459_01 (ListProperty, ListRelationship bare)."""
    body = {
        "id": V,
        "type": "Vehicle",
        "category": [{"type": "VocabProperty", "vocab": ["monument", "sightseeing"]}],
        "depths": [{"type": "ListProperty", "valueList": [1.2, 3.4]}],
        "route": [{"type": "ListRelationship", "objectList": ["urn:a:1", "urn:a:2"]}],
    }
    assert client.post(TEMPORAL, json=body).status_code == 201
    found = get(client, f"{TEMPORAL}/{V}", options="temporalValues")
    assert found["category"]["vocabs"][0][0] == {"vocab": ["monument", "sightseeing"]}
    assert found["depths"]["valueLists"][0][0] == [1.2, 3.4]
    assert found["route"]["objectLists"][0][0] == ["urn:a:1", "urn:a:2"]


def test_temporal_values_give_one_series_per_dataset_id(client: TestClient) -> None:
    """021_18 (4.5.9): several datasetIds make an array of series, each naming its datasetId."""
    assert client.post(TEMPORAL, json=VEHICLE).status_code == 201
    found = get(client, f"{TEMPORAL}/{V}", options="temporalValues")
    assert found["fuel"] == [
        {"type": "Property", "values": [[40, "2020-08-01T14:07:00Z"]]},
        {
            "type": "Property",
            "datasetId": "urn:ngsi-ld:Dataset:a",
            "values": [[67, "2020-08-01T12:03:00Z"], [53, "2020-08-01T13:05:00Z"]],
        },
    ]
    only_a = get(
        client, f"{TEMPORAL}/{V}", options="temporalValues", datasetId="urn:ngsi-ld:Dataset:a"
    )
    assert only_a["fuel"]["datasetId"] == "urn:ngsi-ld:Dataset:a"
    assert "datasetId" not in found["speed"]


def test_format_names_the_temporal_representation_and_takes_precedence(
    client: TestClient,
) -> None:
    """021_19 (6.3.12): format=temporalValues wins over options=aggregatedValues; 021_20_04."""
    assert client.post(TEMPORAL, json=VEHICLE).status_code == 201
    plain = get(client, f"{TEMPORAL}/{V}", format="temporalValues")
    assert plain["speed"]["values"] == [[120, "2020-08-01T12:03:00Z"], [80, "2020-08-01T12:05:00Z"]]
    both = get(
        client,
        TEMPORAL,
        type="Vehicle",
        format="temporalValues",
        options="aggregatedValues",
        aggrMethods="sum",
    )
    assert both[0]["speed"] == plain["speed"]
    wrong = client.get(
        TEMPORAL,
        params={"type": "Vehicle", "format": "temporalValues", "options": "aggregatedValues,x"},
    )
    assert wrong.status_code == 400


def test_linked_entity_projection_is_bad_request(client: TestClient) -> None:
    """5731_01_01, 5741_01_02: the temporal API has no Linked Entity retrieval."""
    assert client.post(TEMPORAL, json=VEHICLE).status_code == 201
    assert bad_request(client.get(f"{TEMPORAL}/{V}", params={"pick": "owner{name}"}))
    assert bad_request(client.get(TEMPORAL, params={"type": "Vehicle", "pick": "owner{name}"}))


def test_retrieve_with_nothing_selected_is_not_found(client: TestClient) -> None:
    """020_08_01 (attrs none of which exist), 020_23 (unmatched pick, omit of everything)."""
    assert client.post(TEMPORAL, json=VEHICLE).status_code == 201
    for params in ({"attrs": "unknown"}, {"pick": "unknown"}, {"omit": "id,type,speed,fuel"}):
        response = client.get(f"{TEMPORAL}/{V}", params=params)
        assert response.status_code == 404 and problem_type(response) == "ResourceNotFound"
    assert set(get(client, f"{TEMPORAL}/{V}", attrs="speed,unknown")) == {"id", "type", "speed"}


def test_first_level_null_member_is_refused(client: TestClient) -> None:
    """5611_01_02 (5.5.4): urn:ngsi-ld:null deletes in a Fragment; here nothing is stored."""
    body = {**VEHICLE, "expiresAt": "urn:ngsi-ld:null"}
    assert bad_request(client.post(TEMPORAL, json=body))
    assert client.get(f"{TEMPORAL}/{V}").status_code == 404
    deleted = {**VEHICLE, "speed": [temp("urn:ngsi-ld:null", "2020-08-01T12:09:00Z")]}  # type: ignore[arg-type]
    assert client.post(TEMPORAL, json=deleted).status_code == 201


def test_aggregation_at_the_edges_of_the_calendar(client: TestClient) -> None:
    """Periods too long for the calendar are refused; one ending past 9999 still renders."""
    body = {
        "id": "urn:ngsi-ld:Gauge:edge",
        "type": "Gauge",
        "level": {"type": "Property", "value": 1.0, "observedAt": "9999-12-31T23:59:59Z"},
    }
    assert client.post("/ngsi-ld/v1/entities", json=body).status_code == 201
    url = "/ngsi-ld/v1/temporal/entities/urn:ngsi-ld:Gauge:edge"
    params = {"options": "aggregatedValues", "aggrMethods": "sum"}
    too_long = client.get(url, params={**params, "aggrPeriodDuration": "P99999999999999999W"})
    assert too_long.status_code == 400
    day = client.get(url, params={**params, "aggrPeriodDuration": "P1D"})
    assert day.status_code == 200, day.text
    [[total, start, end]] = day.json()["level"]["sum"]
    assert start.startswith("9999-12-31")
    assert total == 1.0
    assert end == "9999-12-31T23:59:59.999Z"
