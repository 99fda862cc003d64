"""The MQTT device gateway's throughput, as a ratio against Mosquitto's own rate here.

    .venv/bin/python -m bench.mqtt_bench [--messages 100000] [--devices 1000]
                                         [--publishers 2] [--qos 1] [--url mqtt://…] [--quick]

(a) Mosquitto alone: publisher processes send N typical measure payloads through Mosquitto
to one aiomqtt subscriber that only counts them (the rate a Python MQTT consumer can take
in on this machine). (b) The gateway: the same publishers, the same number of messages,
into `MqttGateway` writing an embedded store (synchronous=FULL, as `cityos serve`); the
clock stops when the store shows every device's last measure. The figure of merit is b/a
(target at least 0.3). Both phases start the clock when every publisher is connected.

Everything runs on 127.0.0.1; a private Mosquitto on a free port is started when
/usr/sbin/mosquitto exists (else --url names one), every phase has a deadline, and every
process started here is stopped on the way out. Results: stdout and bench/out/mqtt.json.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import platform
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiomqtt
import orjson

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
MOSQUITTO = "/usr/sbin/mosquitto"
DEADLINE_S = 120.0
WINDOW = 500
"""Publishes a publisher keeps in flight (QoS 1 waits for each PUBACK)."""
TARGET = 0.3


def payload(device: int, seq: int) -> bytes:
    """A typical air-quality measure: five readings and a sequence number."""
    return orjson.dumps(
        {
            "t": round(15 + (device * 7 + seq) % 200 / 10, 1),
            "h": 40 + (device + seq) % 50,
            "pm25": round((device * 3 + seq) % 900 / 10, 1),
            "no2": (device + 2 * seq) % 120,
            "seq": seq,
        }
    )


# --- publishers (child processes) ---------------------------------------------------------


async def publish(
    host: str, port: int, prefix: str, me: int, of: int, devices: int, qos: int, n: int
) -> None:
    """Message m of the run is device m % devices; publisher `me` of `of` sends those of
    the devices d with d % of == me, so that each device's measures keep their order."""
    quiet = logging.getLogger("bench.publisher")  # not a line per pending publish
    quiet.setLevel(logging.ERROR)
    async with aiomqtt.Client(host, port, max_inflight_messages=WINDOW, logger=quiet) as client:
        print("ready", flush=True)
        sys.stdin.readline()  # go
        pending: list[Any] = []
        for m in range(n):
            device, seq = m % devices, m // devices
            if device % of != me:
                continue
            topic = f"{prefix}/key{device}/dev{device}/attrs"
            pending.append(client.publish(topic, payload(device, seq), qos=qos))
            if len(pending) >= WINDOW:
                await asyncio.gather(*pending)
                pending = []
        await asyncio.gather(*pending)


@contextlib.contextmanager
def publishers(args: argparse.Namespace, host: str, port: int, prefix: str) -> Iterator[Any]:
    """Start the publisher processes, connected and waiting; yields a `go()` function."""
    procs = []
    try:
        for p in range(args.publishers):
            procs.append(
                subprocess.Popen(
                    [
                        sys.executable,
                        "-m",
                        "bench.mqtt_bench",
                        "--publish",
                        f"{host},{port},{prefix},{p},{args.publishers},{args.devices},{args.qos},{args.messages}",
                    ],
                    cwd=ROOT,
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    text=True,
                )
            )
        for proc in procs:
            assert proc.stdout is not None
            if proc.stdout.readline().strip() != "ready":
                raise RuntimeError("a publisher did not connect")

        def go() -> None:
            for proc in procs:
                assert proc.stdin is not None
                proc.stdin.write("go\n")
                proc.stdin.flush()

        yield go
    finally:
        for proc in procs:
            try:
                proc.wait(timeout=DEADLINE_S)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


# --- (a) Mosquitto to a plain subscriber --------------------------------------------------


async def mosquitto_rate(args: argparse.Namespace, host: str, port: int) -> dict[str, Any]:
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    received = 0
    async with aiomqtt.Client(host, port) as client:
        await client.subscribe(f"{prefix}/+/+/attrs", qos=args.qos)
        with publishers(args, host, port, prefix) as go:
            start = time.perf_counter()
            go()
            deadline = start + DEADLINE_S
            last = start
            messages = aiter(client.messages)
            while received < args.messages:
                try:
                    timeout = max(0.1, deadline - time.perf_counter())
                    message = await asyncio.wait_for(anext(messages), timeout)
                except TimeoutError:
                    break
                orjson.loads(_bytes(message.payload))  # as any consumer would
                received += 1
                last = time.perf_counter()
    seconds = last - start
    return {"messages": received, "seconds": seconds, "rate": received / seconds}


def _bytes(value: Any) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode()


# --- (b) the gateway into the store -------------------------------------------------------


async def gateway_rate(
    args: argparse.Namespace, host: str, port: int, folder: Path
) -> dict[str, Any]:
    from cityos.context.broker import Broker, utc_now
    from cityos.context.jsonld import DEFAULT_VOCAB, ContextResolver
    from cityos.ingest.devices import parse_device
    from cityos.ingest.gateway import MqttGateway
    from cityos.store.sqlite import SQLiteStore

    store = SQLiteStore(folder / "data")
    resolver = ContextResolver()
    now = utc_now()
    entity_ids = []
    for d in range(args.devices):
        body = {
            "device_id": f"dev{d}",
            "apikey": f"key{d}",
            "entity_type": "AirQualityObserved",
            "attributes": [
                {"object_id": "t", "name": "temperature", "type": "Number", "unitCode": "CEL"},
                {"object_id": "h", "name": "relativeHumidity", "type": "Number"},
            ],
            "static_attributes": [
                {"name": "refDistrict", "type": "Relationship", "value": "urn:ngsi-ld:District:1"}
            ],
        }
        device = parse_device(body, "", resolver.resolve, now)
        store.devices.add_device(device)
        entity_ids.append(device.entity_id)
    last_seq = {
        f"urn:ngsi-ld:AirQualityObserved:dev{d}": (args.messages - 1 - d) // args.devices
        for d in range(min(args.devices, args.messages))
    }
    prefix = f"bench-{uuid.uuid4().hex[:8]}"
    gateway = MqttGateway(
        Broker(store),
        store.devices,
        resolver.resolve,
        f"mqtt://{host}:{port}",
        qos=args.qos,
        prefix=prefix,
    )
    task = asyncio.create_task(gateway.run())
    seq = DEFAULT_VOCAB + "seq"

    def done() -> bool:
        found = store.get_many("", list(last_seq))
        return len(found) == len(last_seq) and all(
            seq in e.attrs and e.attrs[seq][0]["value"] == last_seq[e.id] for e in found.values()
        )

    try:
        await asyncio.wait_for(gateway.subscribed.wait(), 10)
        with publishers(args, host, port, prefix) as go:
            start = time.perf_counter()
            go()
            deadline = start + DEADLINE_S
            complete = False
            while time.perf_counter() < deadline:
                if gateway.stats.applied >= args.messages and done():
                    complete = True
                    break
                await asyncio.sleep(0.05 if gateway.stats.applied >= args.messages else 0.25)
            seconds = time.perf_counter() - start
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
    stats = gateway.stats.snapshot()
    store.close()
    return {
        "messages": stats["applied"],
        "complete": complete,
        "seconds": seconds,
        "rate": stats["applied"] / seconds,
        "batches": stats["batches"],
        "rejected": sum(stats["rejected"].values()),
    }


# --- the run ------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@contextlib.contextmanager
def private_mosquitto(folder: Path) -> Iterator[tuple[str, int]]:
    port = free_port()
    config = folder / "mosquitto.conf"
    config.write_text(
        f"listener {port} 127.0.0.1\nallow_anonymous true\npersistence false\n"
        # a subscriber lagging behind a burst must lose no QoS 1 message (default: drop after
        # 1000 queued), and acknowledgements must not be the limit (default: 20 in flight)
        "max_queued_messages 0\nmax_inflight_messages 0\n"
    )
    proc = subprocess.Popen([MOSQUITTO, "-c", str(config)], stderr=subprocess.DEVNULL)
    try:
        for _ in range(100):
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            time.sleep(0.05)
        yield "127.0.0.1", port
    finally:
        proc.kill()
        proc.wait()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=100_000)
    parser.add_argument("--devices", type=int, default=1000)
    parser.add_argument("--publishers", type=int, default=2)
    parser.add_argument("--qos", type=int, choices=(0, 1), default=1)
    parser.add_argument("--url", help="an MQTT broker to use instead of a private Mosquitto")
    parser.add_argument("--quick", action="store_true", help="20,000 messages")
    parser.add_argument("--publish", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.publish:
        host, port, prefix, *numbers = args.publish.split(",")
        me, of, devices, qos, n = (int(x) for x in numbers)
        asyncio.run(publish(host, int(port), prefix, me, of, devices, qos, n))
        return
    if args.quick:
        args.messages = 20_000
    with tempfile.TemporaryDirectory(prefix="cityos-mqtt-bench-") as tmp:
        folder = Path(tmp)
        with contextlib.ExitStack() as stack:
            if args.url:
                from cityos.ingest.gateway import MqttUrl

                where = MqttUrl.parse(args.url)
                host, port = where.host, where.port
            elif shutil.which(MOSQUITTO):
                host, port = stack.enter_context(private_mosquitto(folder))
            else:
                sys.exit(f"no {MOSQUITTO}: install mosquitto or pass --url")
            print(f"(a) Mosquitto → subscriber, {args.messages:,} messages ...", file=sys.stderr)
            a = asyncio.run(mosquitto_rate(args, host, port))
            print(f"(b) Mosquitto → gateway → store, {args.messages:,} ...", file=sys.stderr)
            b = asyncio.run(gateway_rate(args, host, port, folder))
    ratio = b["rate"] / a["rate"]
    result = {
        "machine": {
            "cpu": platform.processor() or platform.machine(),
            "cores": __import__("os").cpu_count(),
            "python": platform.python_version(),
        },
        "messages": args.messages,
        "devices": args.devices,
        "publishers": args.publishers,
        "qos": args.qos,
        "mosquitto": a,
        "gateway": b,
        "ratio": ratio,
        "target": TARGET,
    }
    print(
        f"\ncityos MQTT gateway benchmark: {args.messages:,} messages from {args.devices:,} "
        f"devices, {args.publishers} publishers, QoS {args.qos}\n"
    )
    rows = [
        ("(a) Mosquitto → aiomqtt subscriber", a, ""),
        ("(b) gateway → committed entities", b, f", {b['batches']:,} batches"),
    ]
    for name, figures, extra in rows:
        print(
            f"  {name:<36} {figures['rate']:>10,.0f} msg/s  "
            f"({figures['messages']:,} in {figures['seconds']:.2f} s{extra})"
        )
    verdict = "meets" if ratio >= TARGET else "misses"
    print(f"  {'b/a':<36} {ratio:>10.2f}        ({verdict} the {TARGET} target)")
    if not b["complete"]:
        print("  (b) did not complete: some measures never reached the store", file=sys.stderr)
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "mqtt.json").write_text(json.dumps(result, indent=2) + "\n")
    print(f"\nwritten to {(OUT / 'mqtt.json').relative_to(ROOT)}")


if __name__ == "__main__":
    main()
