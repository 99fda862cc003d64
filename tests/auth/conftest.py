"""A broker with authentication required, on the backend under test, and keys for it."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from starlette.testclient import TestClient

from cityos.api.app import create_app
from cityos.api.http import Settings
from cityos.auth.config import AuthSettings
from cityos.auth.keys import ApiKeys
from cityos.store.base import Store
from tests.events.receiver import LOOPBACK

DEVICE_ENTITY = "urn:ngsi-ld:WeatherObserved:own"
PUBLIC_TYPES = frozenset({"District"})


@dataclass
class Secured:
    """A client of a broker that requires credentials, and a way to mint them."""

    client: TestClient
    keys: ApiKeys
    store: Store

    def key(self, *roles: str, tenants: tuple[str, ...] = ("*",), entity: str | None = None) -> str:
        if "device" in roles and entity is None:
            entity = DEVICE_ENTITY
        _, key = self.keys.create("test", roles, tenants, entity)
        return key

    def headers(self, *roles: str, **scope: Any) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.key(*roles, **scope)}"}


def secured_app(store: Store, auth: AuthSettings | None = None, **settings: Any) -> Secured:
    auth = auth or AuthSettings(public_types=PUBLIC_TYPES)
    settings.setdefault("notify_policy", LOOPBACK)  # the tests' receivers listen on loopback
    app = create_app(store, Settings(auth=auth, **settings))
    return Secured(TestClient(app, raise_server_exceptions=False), app.state.keys, store)


@pytest.fixture
def secured(store: Store) -> Iterator[Secured]:
    found = secured_app(store)
    with found.client:
        yield found
