"""Live updates: a change through the API moves the entity's marker on the open map (the
dashboard signed in: its event stream carries the key)."""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterator
from typing import TYPE_CHECKING
from urllib.parse import unquote

import httpx
import pytest

from tests.web.browser import bearer
from tests.web.helpers import show

if TYPE_CHECKING:
    from playwright.sync_api import Page

LIMIT_S = 2.0
# Near Youyang, in the south-east of the municipality: inside the map's first view and far
# from the simulated buses (which run in the urban core), so the marker stands alone
# instead of inside a cluster.
START = [108.60, 28.75]
MOVED = [108.95, 29.05]
MARKER_CENTRE = """id => {
  const marker = document.querySelector(`[data-entity-id="${id}"]`);
  if (!marker) return null;
  const box = marker.getBoundingClientRect();
  return [box.x + box.width / 2, box.y + box.height / 2];
}"""


def point(coordinates: list[float]) -> dict[str, object]:
    return {"type": "GeoProperty", "value": {"type": "Point", "coordinates": coordinates}}


@pytest.fixture
def bus(city: str, city_key: str) -> Iterator[tuple[httpx.Client, str]]:
    """A Vehicle of the test's own, deleted afterwards."""
    entity_id = f"urn:ngsi-ld:Vehicle:web-test-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=f"{city}/ngsi-ld/v1", timeout=10, headers=bearer(city_key)) as api:
        created = api.post(
            "/entities",
            json={
                "id": entity_id,
                "type": "Vehicle",
                "name": {"type": "Property", "value": "Test bus"},
                "vehicleType": {"type": "Property", "value": "bus"},
                "speed": {"type": "Property", "value": 0},
                "location": point(START),
            },
        )
        assert created.status_code == 201, created.text
        yield api, entity_id
        api.delete(f"/entities/{entity_id}")


def test_live_update_moves_a_marker_within_two_seconds(
    page: Page, bus: tuple[httpx.Client, str]
) -> None:
    api, entity_id = bus
    show(page, "map")
    marker = page.locator(f'[data-entity-id="{entity_id}"]')
    marker.wait_for(state="visible")
    page.wait_for_selector('.live-status[data-status="live"]')
    before = page.evaluate(MARKER_CENTRE, entity_id)

    started = time.monotonic()
    patched = api.patch(f"/entities/{entity_id}/attrs", json={"location": point(MOVED)})
    assert patched.status_code == 204, patched.text
    page.wait_for_function(
        f"""([id, before]) => {{
          const now = ({MARKER_CENTRE})(id);
          return now !== null && Math.hypot(now[0] - before[0], now[1] - before[1]) > 5;
        }}""",
        arg=[entity_id, before],
        polling="raf",
        timeout=LIMIT_S * 1000 * 3,
    )
    took = time.monotonic() - started
    after = page.evaluate(MARKER_CENTRE, entity_id)
    print(f"marker moved {before} → {after} in {took * 1000:.0f} ms")
    assert took < LIMIT_S, f"the marker moved only after {took:.2f} s"
    # East and north on the map: right and up on the screen.
    assert after[0] > before[0] and after[1] < before[1]


def test_live_updates_come_back_after_the_stream_ends(
    page: Page, bus: tuple[httpx.Client, str]
) -> None:
    """The subscription behind the stream is deleted (the server ends the stream): the
    dashboard makes it again, reconnects with its key, and the marker moves again."""
    api, entity_id = bus
    streams: list[str] = []
    page.on("request", lambda request: streams.append(request.url))
    show(page, "map")
    page.locator(f'[data-entity-id="{entity_id}"]').wait_for(state="visible")
    page.wait_for_selector('.live-status[data-status="live"]')
    followed = [url for url in streams if url.endswith("/stream")]
    assert followed
    subscription = unquote(followed[-1].rsplit("/", 2)[-2])
    before = page.evaluate(MARKER_CENTRE, entity_id)

    deleted = api.delete(f"/subscriptions/{subscription}")
    assert deleted.status_code == 204, deleted.text
    page.wait_for_selector('.live-status[data-status="connecting"]')  # it waits, as EventSource
    page.wait_for_selector('.live-status[data-status="live"]')
    assert len([url for url in streams if url.endswith("/stream")]) > len(followed)
    assert api.get(f"/subscriptions/{subscription}").status_code == 200  # made again

    patched = api.patch(f"/entities/{entity_id}/attrs", json={"location": point(MOVED)})
    assert patched.status_code == 204, patched.text
    page.wait_for_function(
        f"""([id, before]) => {{
          const now = ({MARKER_CENTRE})(id);
          return now !== null && Math.hypot(now[0] - before[0], now[1] - before[1]) > 5;
        }}""",
        arg=[entity_id, before],
    )
