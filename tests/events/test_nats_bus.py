"""The NATS JetStream change bus in process: two "instances" (two stores on one data
directory, two buses) publish once, consume once in commit order, share control messages
and live streams, and elect one leader."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AsyncExitStack, asynccontextmanager
from pathlib import Path

import pytest

from cityos.context.broker import Broker
from cityos.context.entity import Entity, EntityChange
from cityos.events.bus import Control, Delivery, LocalBus, make_bus
from cityos.events.nats_bus import (
    NatsBus,
    decode_change,
    encode_change,
    log_every_change,
    partition_of,
    subject_token,
)
from cityos.store.sqlite import SQLiteStore

THING = "https://example.org/Thing"


def bus_of(url: str) -> NatsBus:
    found = make_bus(url)
    assert isinstance(found, NatsBus)
    found.lease_s = 1.0  # a quick hand-over for the test
    return found


def thing(number: int, value: int = 0) -> Entity:
    stamp = "2026-11-29T00:00:00Z"
    value_attr = {"type": "Property", "value": value}
    return Entity(
        f"urn:ngsi-ld:Thing:{number}",
        [THING],
        {"https://example.org/v": [value_attr]},
        None,
        stamp,
        stamp,
    )


def write(broker: Broker, number: int, value: int) -> None:
    """Create or replace thing `number`, through the broker (its listeners hear it)."""
    if broker.store.get("", thing(number).id) is None:
        broker.create("", thing(number, value))
    else:
        broker.replace("", thing(number, value))


@asynccontextmanager
async def instance(data: Path, url: str) -> AsyncIterator[tuple[Broker, NatsBus]]:
    store = SQLiteStore(data)
    broker = Broker(store)
    bus = bus_of(url)
    bus.attach(broker)
    try:
        async with bus.running():
            yield broker, bus
    finally:
        store.close()


async def until(check: Callable[[], bool], seconds: float = 20.0) -> None:
    for _ in range(int(seconds / 0.02)):
        if check():
            return
        await asyncio.sleep(0.02)
    raise AssertionError("condition not reached")


def test_the_bus_is_chosen_by_url() -> None:
    assert isinstance(make_bus(None), LocalBus) and isinstance(make_bus("local"), LocalBus)
    found = make_bus("nats://127.0.0.1:4222?stream=S&prefix=p")
    assert isinstance(found, NatsBus)
    assert (found.url, found.stream_name, found.changes_subject) == (
        "nats://127.0.0.1:4222",
        "S",
        "p.log.changes",
    )
    with pytest.raises(ValueError, match="Unknown events bus"):
        make_bus("kafka://x")
    with pytest.raises(ValueError, match="option"):
        make_bus("nats://127.0.0.1:4222?streams=S")
    assert bus_of("nats://127.0.0.1:4222?partitions=3").partitions == 3
    for bad in ("0", "257", "x", "-1"):
        with pytest.raises(ValueError, match="partitions"):
            make_bus(f"nats://127.0.0.1:4222?partitions={bad}")


def test_changes_travel_whole() -> None:
    change = EntityChange("urn:a", None, thing(1, 5))
    change.seq = 42
    tenant, back = decode_change(encode_change("yuzhong", change))
    assert tenant == "yuzhong" and back.seq == 42 and back.before is None
    assert back.after is not None and back.after.attrs == thing(1, 5).attrs
    assert [subject_token(t) for t in ("", "yuzhong", "a.b")] == ["_", "yuzhong", "x612e62"]


def test_each_change_is_consumed_once_in_commit_order(tmp_path: Path, nats_url: str) -> None:
    """Both instances write and both relay and consume: every change arrives once, in the
    order of the commits, whichever instance made it."""
    seen: list[tuple[str, int, str]] = []

    def handler(name: str) -> Callable[[str, EntityChange, Delivery], Awaitable[None]]:
        async def take(tenant: str, change: EntityChange, delivery: Delivery) -> None:
            seen.append((name, change.seq, change.entity_id))

        return take

    async def main() -> None:
        async with AsyncExitStack() as stack:
            (a, bus_a) = await stack.enter_async_context(instance(tmp_path, nats_url))
            (b, bus_b) = await stack.enter_async_context(instance(tmp_path, nats_url))
            await stack.enter_async_context(bus_a.consume("work", handler("a")))
            await stack.enter_async_context(bus_b.consume("work", handler("b")))
            for number in range(40):
                broker = a if number % 2 else b
                await asyncio.to_thread(write, broker, number % 7, number)
            await until(lambda: len(seen) >= 40)
            await asyncio.sleep(0.5)  # nothing more comes

        seqs = [seq for _, seq, _ in seen]
        assert seqs == sorted(seqs) and len(set(seqs)) == 40 == len(seqs)
        assert {name for name, _, _ in seen} <= {"a", "b"}

    asyncio.run(main())


def test_per_entity_consumers_keep_each_entitys_order_and_run_entities_in_parallel(
    tmp_path: Path, nats_url: str
) -> None:
    """With `per_entity`, a change whose handling hangs holds back only its own entity's
    partition: the other entities' changes go on, each entity's in commit order, each once
    across both instances; the held one follows when released."""
    url = nats_url + "&partitions=4"
    held = partition_of("urn:ngsi-ld:Thing:0", 4)
    stuck = next(n for n in range(1, 50) if partition_of(f"urn:ngsi-ld:Thing:{n}", 4) == held)
    free = [n for n in range(1, 50) if partition_of(f"urn:ngsi-ld:Thing:{n}", 4) != held][:5]
    seen: list[tuple[str, int]] = []
    release = asyncio.Event()

    async def take(tenant: str, change: EntityChange, delivery: Delivery) -> None:
        if change.entity_id.endswith(":0"):
            await release.wait()
        seen.append((change.entity_id, change.seq))

    async def main() -> None:
        async with AsyncExitStack() as stack:
            (a, bus_a) = await stack.enter_async_context(instance(tmp_path, url))
            (b, bus_b) = await stack.enter_async_context(instance(tmp_path, url))
            await stack.enter_async_context(bus_a.consume("work", take, per_entity=True))
            await stack.enter_async_context(bus_b.consume("work", take, per_entity=True))
            await asyncio.to_thread(write, a, 0, 0)  # hangs in its handler
            await asyncio.to_thread(write, b, stuck, 0)  # same partition: waits behind it
            for value in range(1, 4):
                for number in free:
                    await asyncio.to_thread(write, a if value % 2 else b, number, value)
            await until(lambda: len(seen) == 3 * len(free))
            assert not any(entity.endswith((":0", f":{stuck}")) for entity, _ in seen)
            release.set()
            await until(lambda: len(seen) == 3 * len(free) + 2)
            await asyncio.sleep(0.5)  # nothing more comes

        assert len(set(seen)) == len(seen)
        for entity in {entity for entity, _ in seen}:
            seqs = [seq for got, seq in seen if got == entity]
            assert seqs == sorted(seqs)
        assert [entity for entity, _ in seen[-2:]] == [
            "urn:ngsi-ld:Thing:0",
            f"urn:ngsi-ld:Thing:{stuck}",
        ]

    asyncio.run(main())


def test_control_messages_and_live_streams_reach_every_instance(
    tmp_path: Path, nats_url: str
) -> None:
    controls: dict[str, list[Control]] = {"a": [], "b": []}
    streamed: dict[str, list[tuple[str, str, bytes]]] = {"a": [], "b": []}

    async def main() -> None:
        async with AsyncExitStack() as stack:
            (_, bus_a) = await stack.enter_async_context(instance(tmp_path, nats_url))
            (_, bus_b) = await stack.enter_async_context(instance(tmp_path, nats_url))
            for name, bus in (("a", bus_a), ("b", bus_b)):
                bus.on_control(controls[name].append)
                bus.on_stream(lambda *got, name=name: streamed[name].append(got))
            bus_a.announce(Control("subscription", "yuzhong", "urn:s:1"))
            await bus_a.settled()
            bus_b.stream("", "urn:s:2", b'{"n": 1}')
            await until(lambda: all(controls.values()) and all(streamed.values()))

        for name in ("a", "b"):
            assert controls[name] == [Control("subscription", "yuzhong", "urn:s:1")]
            assert streamed[name] == [("", "urn:s:2", b'{"n": 1}')]

    asyncio.run(main())


def test_one_leader_and_a_hand_over(tmp_path: Path, nats_url: str) -> None:
    async def main() -> None:
        async with instance(tmp_path, nats_url) as (_, bus_b):
            took_over: list[bool] = []
            bus_b.on_lead(lambda: took_over.append(True))
            async with instance(tmp_path, nats_url) as (_, bus_a):
                await until(lambda: bus_a.leading() or bus_b.leading())
                await asyncio.sleep(1.0)
                assert bus_a.leading() != bus_b.leading()  # one, not both
                leader_was_a = bus_a.leading()
            await until(bus_b.leading)  # A stopped: B leads (it hands the lease back)
            assert took_over == [True]  # once: from the start, or when A stopped
            assert leader_was_a in (True, False)

    asyncio.run(main())


def test_a_change_committed_by_a_dead_instance_is_published_by_another(
    tmp_path: Path, nats_url: str
) -> None:
    """The change log is the relay's outbox: what one instance committed and never
    published (it died) is published by the next relay, once."""
    seen: list[int] = []

    async def take(tenant: str, change: EntityChange, delivery: Delivery) -> None:
        seen.append(change.seq)

    async def main() -> None:
        store = SQLiteStore(tmp_path)
        log_every_change(store.subscriptions)
        store.commit("", [thing(1), thing(2)])  # committed, no bus running: "died"
        store.close()
        async with instance(tmp_path, nats_url) as (_, bus), bus.consume("work", take):
            await until(lambda: len(seen) == 2)
            await asyncio.sleep(0.5)
        assert seen == [1, 2]

    asyncio.run(main())
