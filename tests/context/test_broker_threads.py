"""Writes from several threads (the API and the device gateway) never lose each other's."""

from __future__ import annotations

import threading

from cityos.context.broker import Broker, utc_now
from cityos.context.jsonld import ContextResolver
from cityos.context.normalize import parse_entity
from cityos.store.base import Store

THREADS, WRITES = 6, 40


def test_concurrent_updates_of_one_entity_keep_every_change(store: Store) -> None:
    broker = Broker(store)
    terms = ContextResolver().core
    broker.create("", parse_entity({"id": "urn:ngsi-ld:Pump:1", "type": "Pump"}, terms, utc_now()))
    heard: list[str] = []
    broker.listeners.append(lambda tenant, changes: heard.extend(c.entity_id for c in changes))

    def writer(n: int) -> None:
        for value in range(WRITES):
            body = {f"reading{n}": {"type": "Property", "value": value}}
            fragment = parse_entity(body, terms, utc_now(), partial=True)
            broker.update("", "urn:ngsi-ld:Pump:1", fragment)

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    pump = broker.retrieve("", "urn:ngsi-ld:Pump:1")
    for n in range(THREADS):
        [instance] = pump.attrs[terms.expand(f"reading{n}")]
        assert instance["value"] == WRITES - 1
    assert len(heard) == THREADS * WRITES
