"""The simulator's side of the API: it loads its city as any client would, over HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Any
from urllib.parse import quote

import httpx
import orjson
import yaml

JSON = {"Content-Type": "application/json"}
BATCH = 500


class ApiError(RuntimeError):
    """The API refused what the simulator sent: a bug in a pack, said plainly."""


class CityClient:
    """Entities, devices and rules put into a running cityos, for one tenant."""

    def __init__(self, http: httpx.AsyncClient, tenant: str = "") -> None:
        self.http = http
        self.headers = {"NGSILD-Tenant": tenant} if tenant else {}

    async def wait_until_up(self, seconds: float = 30.0) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + seconds
        while True:
            try:
                if (await self.http.get("/version")).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if loop.time() > deadline:
                raise ApiError(f"cityos at {self.http.base_url} did not answer in {seconds:.0f} s")
            await asyncio.sleep(0.1)

    async def upsert(self, entities: Sequence[dict[str, Any]]) -> int:
        """Create or update entities in batches; how many were written."""
        written = 0
        for first in range(0, len(entities), BATCH):
            batch = entities[first : first + BATCH]
            response = await self.http.post(
                "/ngsi-ld/v1/entityOperations/upsert",
                content=orjson.dumps(batch),
                headers={**JSON, **self.headers},
            )
            if response.status_code not in (201, 204, 207):
                raise ApiError(f"upsert: {response.status_code} {response.text[:500]}")
            if response.status_code == 207:
                errors = response.json().get("errors", [])
                raise ApiError(f"upsert refused {len(errors)} entities, first: {errors[:1]}")
            written += len(batch)
        return written

    async def add_history(self, entity: dict[str, Any]) -> None:
        """Add attribute instances (each with its observedAt) to an entity's history
        through the temporal API, leaving its current state alone."""
        response = await self.http.post(
            "/ngsi-ld/v1/temporal/entities",
            content=orjson.dumps(entity),
            headers={**JSON, **self.headers},
        )
        if response.status_code not in (201, 204):
            raise ApiError(f"history of {entity['id']}: {response.status_code} {response.text}")

    async def add_attrs(self, entity_id: str, attrs: dict[str, Any]) -> None:
        """Append attributes to an existing entity (others untouched)."""
        response = await self.http.post(
            f"/ngsi-ld/v1/entities/{quote(entity_id, safe=':')}/attrs",
            content=orjson.dumps(attrs),
            headers={**JSON, **self.headers},
        )
        if response.status_code not in (204, 207):
            raise ApiError(f"attrs of {entity_id}: {response.status_code} {response.text}")

    async def provision(self, devices: Sequence[dict[str, Any]]) -> int:
        """Provision devices; ones already provisioned (a restarted demo) are kept."""
        created = 0
        for first in range(0, len(devices), BATCH):
            batch = list(devices[first : first + BATCH])
            response = await self._post_devices(batch)
            if response.status_code == 409:  # some exist: provision the others one by one
                for device in batch:
                    single = await self._post_devices([device])
                    created += single.status_code == 201
                continue
            created += len(batch)
        return created

    async def _post_devices(self, devices: list[dict[str, Any]]) -> httpx.Response:
        response = await self.http.post(
            "/iot/devices",
            content=orjson.dumps({"devices": devices}),
            headers={**JSON, **self.headers},
        )
        if response.status_code not in (201, 409):
            raise ApiError(f"devices: {response.status_code} {response.text[:500]}")
        return response

    async def add_rules(self, text: str) -> int:
        """Post a pack's rules; rules already there (a restarted demo) keep their state."""
        document = yaml.safe_load(text)
        rules = document.get("rules", [document]) if isinstance(document, dict) else document
        added = 0
        for rule in rules:
            response = await self.http.post(
                "/rules", content=orjson.dumps(rule), headers={**JSON, **self.headers}
            )
            if response.status_code not in (201, 409):
                raise ApiError(f"rule {rule.get('id')}: {response.status_code} {response.text}")
            added += response.status_code == 201
        return added
