"""/kpis: every pack's KPIs, null where the city holds no data for them."""

from __future__ import annotations

from starlette.testclient import TestClient

from cityos.sim.packs import PACK_MODULES


def test_every_pack_answers_on_an_empty_city(client: TestClient) -> None:
    response = client.get("/kpis")
    assert response.status_code == 200
    kpis = response.json()
    assert {k["pack"] for k in kpis} == set(PACK_MODULES)
    assert all({"id", "name", "value", "unit", "description"} <= k.keys() for k in kpis)
    students = next(k for k in kpis if k["id"] == "students-per-teacher")
    assert students["value"] is None  # no schools: no figure, never a made-up one


def test_one_pack_and_an_unknown_one(client: TestClient) -> None:
    only = client.get("/kpis/education").json()
    assert {k["pack"] for k in only} == {"education"}
    missing = client.get("/kpis/astrology")
    assert missing.status_code == 404 and "education" in missing.json()["detail"]


def test_a_bad_moment_is_refused(client: TestClient) -> None:
    response = client.get("/kpis", params={"at": "teatime"})
    assert response.status_code == 400 and "teatime" in response.json()["detail"]
