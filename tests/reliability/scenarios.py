"""The crash scenarios: each drives load at a `City`, kills it at a seeded moment, starts
a new process on the same store and returns an `Outcome` (figures, problems found).

`size` scales the load; `seed` picks the moment of the kill. See docs/reliability.md.
"""

from __future__ import annotations

import itertools
import threading
import time
from collections import Counter
from typing import Any

import httpx
import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion

from tests.events.receiver import NOTIFY_LOOPBACK, receiving
from tests.reliability.harness import (
    CASES,
    ENTITIES,
    OPERATOR,
    SUBS,
    UPSERT,
    City,
    Load,
    Outcome,
    Place,
    history_of,
    kill_point,
    values_of,
    wait_until,
)

BATCH = 10
APIKEY = "crash-key"
DEVICE = "meter-1"
METER = f"urn:ngsi-ld:Meter:{DEVICE}"
HTTP_DEVICE = "meter-http"


def prop(value: Any) -> dict[str, Any]:
    return {"type": "Property", "value": value}


# -- a. sustained ingest -------------------------------------------------------------------


class Publisher:
    """A device publishing measures `{"c": n}` with QoS 1 to the MQTT broker; remembers
    which the broker acknowledged (PUBACK: from Mosquitto, not from cityos)."""

    def __init__(self, port: int) -> None:
        self.client = mqtt.Client(CallbackAPIVersion.VERSION2)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()
        self.acked: list[tuple[int, float]] = []
        """(value, when the broker acknowledged it)."""
        self.stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def publish(self, value: int) -> bool:
        info = self.client.publish(f"cityos/{APIKEY}/{DEVICE}/attrs", f'{{"c": {value}}}', qos=1)
        info.wait_for_publish(10)
        return info.is_published()

    def _run(self) -> None:
        for value in range(1, 100_000):
            if self.stop.wait(0.01):
                return
            if self.publish(value):
                self.acked.append((value, time.monotonic()))

    def start(self) -> None:
        self._thread.start()

    def halt(self) -> None:
        """Stop publishing (the client stays connected)."""
        self.stop.set()
        self._thread.join(20)

    def close(self) -> None:
        self.halt()
        self.client.loop_stop()
        self.client.disconnect()


def ingest(place: Place, seed: int, size: int, mqtt_port: int | None) -> Outcome:
    """Batch upserts, PATCHes, HTTP and MQTT measures; kill -9 mid-load. Every acknowledged
    write is readable afterwards with its value or a later one, and its history has every
    acknowledged value."""
    outcome = Outcome("ingest", place.backend)
    gauges = [f"urn:ngsi-ld:Gauge:g{n}" for n in range(4)]
    batched: dict[str, int] = {}
    patched: dict[str, list[int]] = {g: [] for g in gauges}
    measured: list[int] = []
    extra = ("--mqtt", f"mqtt://127.0.0.1:{mqtt_port}") if mqtt_port else ()
    publisher: Publisher | None = None
    with City(place, *extra) as city:
        with city.client() as http:
            created = http.post(UPSERT, json=[{"id": g, "type": "Gauge", "level": prop(0)}
                                              for g in gauges])  # fmt: skip
            assert created.status_code in (201, 204), created.text
            count = {"object_id": "c", "name": "count", "type": "Number"}
            devices = [{"device_id": name, "apikey": APIKEY, "entity_type": "Meter",
                        "attributes": [count]} for name in (DEVICE, HTTP_DEVICE)]  # fmt: skip
            provisioned = http.post("/iot/devices", json={"devices": devices})
            assert provisioned.status_code == 201, provisioned.text
        if mqtt_port:
            publisher = Publisher(mqtt_port)
        load = Load(city.url)

        def upsert(http: httpx.Client, number: int) -> bool:
            ids = [f"urn:ngsi-ld:Sensor:b{number}-{k}" for k in range(BATCH)]
            body = [{"id": i, "type": "Sensor", "reading": prop(number)} for i in ids]
            if http.post(UPSERT, json=body).status_code not in (201, 204):
                return False
            with load.lock:
                batched.update(dict.fromkeys(ids, number))
            return True

        def patcher(gauge: str) -> Any:
            def patch(http: httpx.Client, number: int) -> bool:
                sent = http.patch(f"{ENTITIES}/{gauge}/attrs", json={"level": prop(number + 1)})
                if sent.status_code != 204:
                    return False
                with load.lock:
                    patched[gauge].append(number + 1)
                return True

            return patch

        def measure(http: httpx.Client, number: int) -> bool:
            params = {"k": APIKEY, "i": HTTP_DEVICE}
            if http.post("/iot/json", params=params, json={"c": number + 1}).status_code != 204:
                return False
            with load.lock:
                measured.append(number + 1)
            return True

        load.add(upsert, size)
        load.add(measure, size)
        for gauge in gauges:
            load.add(patcher(gauge), size)
        if publisher is not None:
            publisher.start()
        at = kill_point(seed, size // 2, size * 2)
        load.wait_for(at)
        killed_at = time.monotonic()
        city.kill()
        load.join()
        if publisher is not None:
            publisher.stop.set()
        city.start()
        with city.client() as http:
            found = values_of(http, "Sensor", "reading")
            lost = [i for i, v in batched.items() if found.get(i) is None or found[i] < v]
            outcome.check(not lost, f"{len(lost)} acknowledged batch writes lost: {lost[:5]}")
            missing_history = 0
            for gauge, values in patched.items():
                now = http.get(f"{ENTITIES}/{gauge}", params={"options": "keyValues"}).json()
                if values and now["level"] < values[-1]:
                    outcome.problems.append(f"{gauge} at {now['level']} < acked {values[-1]}")
                kept = set(history_of(http, gauge, "level"))
                missing_history += len(set(values) - kept)
            outcome.check(not missing_history, f"{missing_history} acked PATCHes not in history")
            kept_measures = set(history_of(http, f"urn:ngsi-ld:Meter:{HTTP_DEVICE}", "count"))
            unkept = set(measured) - kept_measures
            outcome.check(not unkept, f"{len(unkept)} acked HTTP measures not in history")
            outcome.figures.update(
                kill_after_acks=at,
                batch_entities_acked=len(batched),
                batch_entities_found=len(batched) - len(lost),
                committed_unanswered=len(set(found) - set(batched)),
                patches_acked=sum(len(v) for v in patched.values()),
                patches_in_history=sum(len(v) for v in patched.values()) - missing_history,
                http_measures_acked=len(measured),
                http_measures_in_history=len(measured) - len(unkept),
            )
            if publisher is not None:
                outcome.figures.update(mqtt_measures(http, publisher, killed_at, outcome))
    return outcome


def mqtt_measures(
    http: httpx.Client, publisher: Publisher, killed_at: float, outcome: Outcome
) -> dict[str, Any]:
    """The MQTT side after the restart. The gateway keeps a persistent session and
    acknowledges a measure once committed, so every measure the MQTT broker accepted
    (PUBACK), before the kill or while cityos was down, is applied after the restart (the
    broker sends again what was not acknowledged, and what it queued meanwhile); and the
    meter's history holds only values the device sent."""
    publisher.halt()
    before = [value for value, at in publisher.acked if at < killed_at]
    sent = {value for value, _ in publisher.acked}
    resumed = wait_until(lambda: publisher.publish(1_000_000) and _count(http) == 1_000_000, 20)
    outcome.check(resumed, "the MQTT gateway did not take measures after the restart")
    publisher.close()
    kept: list[Any] = []

    def all_applied() -> bool:
        kept[:] = history_of(http, METER, "count")
        return sent <= set(kept)

    wait_until(all_applied, 20)
    strange = [v for v in kept if v not in sent and v != 1_000_000]
    outcome.check(not strange, f"meter history holds values never sent: {strange[:5]}")
    lost = sorted(sent - set(kept))
    outcome.check(not lost, f"{len(lost)} measures the MQTT broker accepted were lost: {lost[:5]}")
    return {
        "mqtt_pubacked_before_kill": len(before),
        "mqtt_pubacked_while_down": len(sent) - len(before),
        "mqtt_in_history": len(set(kept) & set(before)),
        "mqtt_while_down_in_history": len(set(kept) - set(before) - {1_000_000}),
        "mqtt_gateway_resumed": resumed,
    }


def _count(http: httpx.Client) -> Any:
    got = http.get(f"{ENTITIES}/{METER}", params={"options": "keyValues"})
    return got.json().get("count") if got.status_code == 200 else None


# -- b. notification delivery --------------------------------------------------------------


def notifications(place: Place, seed: int, size: int, subscriptions: int = 3) -> Outcome:
    """Subscriptions to a receiver that fails until after the crash: the outbox holds what
    is owed at the kill. After the restart every subscription is there and every
    acknowledged change is notified to each, at least once."""
    outcome = Outcome("notifications", place.backend)
    sensors = [f"urn:ngsi-ld:Sensor:s{n}" for n in range(4)]
    acked: list[tuple[str, int]] = []
    with receiving() as receiver, City(place, *NOTIFY_LOOPBACK) as city:
        receiver.fail_next = 10**9
        made: list[str] = []
        with city.client() as http:
            body = [{"id": s, "type": "Sensor", "reading": prop(0)} for s in sensors]
            assert http.post(UPSERT, json=body).status_code in (201, 204)
            for _ in range(subscriptions):
                sub = {
                    "type": "Subscription",
                    "entities": [{"type": "Sensor"}],
                    "watchedAttributes": ["reading"],
                    "notification": {"endpoint": {"uri": receiver.url}},
                }
                created = http.post(SUBS, json=sub)
                assert created.status_code == 201, created.text
                made.append(created.headers["Location"].rsplit("/", 1)[-1])
        load = Load(city.url)

        def writer(sensor: str) -> Any:
            def patch(http: httpx.Client, number: int) -> bool:
                sent = http.patch(f"{ENTITIES}/{sensor}/attrs", json={"reading": prop(number + 1)})
                if sent.status_code != 204:
                    return False
                with load.lock:
                    acked.append((sensor, number + 1))
                return True

            return patch

        for sensor in sensors:
            load.add(writer(sensor), size, pause=0.01)
        at = kill_point(seed, size, size * 3)
        load.wait_for(at)
        refused_before_kill = receiver.refused
        city.kill()
        load.join()
        receiver.fail_next = 0
        city.start()
        owed = {(sub, sensor, value) for sub in made for sensor, value in acked}

        def got() -> Counter[tuple[str, str, int]]:
            with receiver.lock:
                return Counter(
                    (
                        n.body["subscriptionId"].rsplit("/", 1)[-1],
                        item["id"],
                        item["reading"]["value"],
                    )
                    for n in receiver.received
                    for item in n.body["data"]
                )

        wait_until(lambda: owed <= set(got()), 60)
        with city.client() as http:
            kept = [s for s in made if http.get(f"{SUBS}/{s}").status_code == 200]
        outcome.check(len(kept) == len(made), f"subscriptions lost: {set(made) - set(kept)}")
        delivered = got()
        missing = owed - set(delivered)
        outcome.check(not missing, f"{len(missing)} notifications owed never came")
        time.sleep(1.0)  # anything delivered twice comes now
        delivered = got()
        outcome.figures.update(
            kill_after_acks=at,
            subscriptions=len(made),
            subscriptions_found=len(kept),
            changes_acked=len(acked),
            refused_before_kill=refused_before_kill,
            notifications_owed=len(owed),
            notifications_delivered=len(owed & set(delivered)),
            notifications_duplicated=sum(c - 1 for c in delivered.values() if c > 1),
            notifications_unacked_changes=len(set(delivered) - owed),
        )
    return outcome


# -- c. governance -------------------------------------------------------------------------

FLOW = ("accept", "dispatch", "start")


def governance(place: Place, seed: int, size: int) -> Outcome:
    """Citizens report cases and the desk moves them on (accept, dispatch, start), from
    threads; kill -9 mid-way. Every acknowledged case and transition is there after the
    restart, each case's trail is a consistent chain, and no case is there twice."""
    outcome = Outcome("governance", place.backend)
    cases: list[str] = []
    moves: list[tuple[str, str]] = []
    asked: dict[str, dict[str, Any]] = {}
    """Reports sent with a chosen id (the idempotency key), acknowledged or not."""
    tried: list[tuple[str, str]] = []
    with City(place) as city:
        load = Load(city.url)

        def citizen(offset: int) -> Any:
            def report(http: httpx.Client, number: int) -> bool:
                body: dict[str, Any] = {
                    "category": "pothole",
                    "description": f"hole {offset}-{number}",
                    "location": {
                        "type": "Point",
                        "coordinates": [106.50 + offset * 0.01, 29.50 + number * 0.001],
                    },
                }
                if offset == 0:  # this citizen's app gives each report an id
                    body["id"] = f"urn:ngsi-ld:Case:app:{number}"
                    with load.lock:
                        asked[body["id"]] = body
                sent = http.post(CASES, json=body)
                if sent.status_code != 201:
                    return False
                with load.lock:
                    cases.append(sent.json()["id"])
                return True

            return report

        def desk(http: httpx.Client, number: int) -> bool:
            with load.lock:
                done = Counter(case for case, _ in moves)
                ready = [c for c in cases if done[c] < len(FLOW)]
            if not ready:
                time.sleep(0.01)
                return False
            case = ready[number % len(ready)]
            action = FLOW[done[case]]
            with load.lock:
                tried.append((case, action))
            sent = http.post(f"{CASES}/{case}/{action}", headers=OPERATOR)
            if sent.status_code != 200:
                return False
            with load.lock:
                moves.append((case, action))
            return True

        for offset in range(2):
            load.add(citizen(offset), size)
        load.add(desk, size * 4)
        at = kill_point(seed, size // 2, size * 2)
        load.wait_for(at)
        city.kill()
        load.join()
        city.start()
        retried = retry_unanswered(city, asked, cases, tried, moves, outcome)
        with city.client() as http:
            listed = http.get(CASES, params={"limit": 1000})
            listed.raise_for_status()
            stored = [c["id"] for c in listed.json()]
            outcome.check(len(stored) == len(set(stored)), "a case is listed twice")
            descriptions = Counter(c["description"] for c in listed.json())
            twice = [d for d, n in descriptions.items() if n > 1]
            outcome.check(not twice, f"reports stored twice: {twice[:5]}")
            lost = set(cases) - set(stored)
            outcome.check(not lost, f"{len(lost)} acknowledged cases lost")
            missing_moves = 0
            broken: list[str] = []
            for case in stored:
                trail = http.get(f"{CASES}/{case}/trail").json()
                actions = [entry["action"] for entry in trail]
                missing_moves += sum(1 for c, a in moves if c == case and a not in actions)
                state = http.get(f"{CASES}/{case}").json()["state"]
                chain_ok = all(b["from"] == a["to"] for a, b in itertools.pairwise(trail))
                if not trail or not chain_ok or trail[-1]["to"] != state:
                    broken.append(case)
            outcome.check(not missing_moves, f"{missing_moves} acked transitions not in a trail")
            outcome.check(not broken, f"inconsistent trails: {broken[:5]}")
            outcome.figures.update(
                kill_after_acks=at,
                cases_acked=len(cases),
                cases_found=len(set(cases) & set(stored)),
                cases_committed_unanswered=len(set(stored) - set(cases)),
                duplicate_cases=len(stored) - len(set(stored)) + len(twice),
                reports_retried=retried[0],
                transitions_retried=retried[1],
                transitions_acked=len(moves),
                transitions_found=len(moves) - missing_moves,
                inconsistent_trails=len(broken),
            )
    return outcome


def retry_unanswered(
    city: City,
    asked: dict[str, dict[str, Any]],
    cases: list[str],
    tried: list[tuple[str, str]],
    moves: list[tuple[str, str]],
    outcome: Outcome,
) -> tuple[int, int]:
    """What a client does after a crash: send again what got no answer. A report with its
    id is the same case whether or not it was committed; an action already done is a 409
    (the state moved on), never a second trail entry. Retried ones count as acknowledged."""
    reports = [body for key, body in asked.items() if key not in cases]
    actions = [move for move in tried if move not in moves]
    with city.client() as http:
        for body in reports:
            sent = http.post(CASES, json=body)
            outcome.check(sent.status_code == 201, f"retried report: {sent.status_code}")
            outcome.check(sent.json().get("id") == body["id"], "retried report got a new id")
            cases.append(body["id"])
        for case, action in actions:
            sent = http.post(f"{CASES}/{case}/{action}", headers=OPERATOR)
            outcome.check(sent.status_code in (200, 409), f"retried {action}: {sent.status_code}")
            moves.append((case, action))
    return len(reports), len(actions)


# -- d. rule state -------------------------------------------------------------------------

RULE = {
    "id": "overheat",
    "type": "Machine",
    "when": {"q": "temperature>90", "for": "1s"},
    "cooldown": "1h",
    "then": [{"case": {"category": "machine-fault", "priority": "high"}}],
}


def rules(place: Place, seed: int, size: int) -> Outcome:
    """A rule with `for` and a cooldown, machines going hot one after the other: at the
    kill some episodes have fired and some are holding. After the restart the states are
    the stored ones, holding episodes fire once, fired ones do not fire again: every
    machine has exactly one case."""
    outcome = Outcome("rules", place.backend)
    machines = [f"urn:ngsi-ld:Machine:m{n}" for n in range(size)]
    with City(place) as city:
        with city.client() as http:
            assert http.post("/rules", json=RULE).status_code == 201
            body = [{"id": m, "type": "Machine", "temperature": prop(20)} for m in machines]
            assert http.post(UPSERT, json=body).status_code in (201, 204)
        load = Load(city.url)

        def heat(http: httpx.Client, number: int) -> bool:
            sent = http.patch(f"{ENTITIES}/{machines[number]}/attrs",
                              json={"temperature": prop(95)})  # fmt: skip
            return sent.status_code == 204

        load.add(heat, size, pause=0.3)
        at = kill_point(seed, size // 2, size - 2)
        load.wait_for(at)
        with city.client() as http:

            def states() -> dict[str, Any]:
                return {s["entity"]: s for s in http.get("/rules/overheat/state").json()}

            # the kill comes once the first ones have fired, while later ones still hold
            wait_until(lambda: any(s["firedAt"] for s in states().values() if "firedAt" in s), 10)
            before = states()
        city.kill()
        load.join()
        hot = machines[: load.acked]
        city.start()
        with city.client() as http:

            def cases_of() -> Counter[str]:
                listed = http.get(CASES, params={"limit": 1000}).json()
                return Counter(c.get("raisedBy") for c in listed)

            wait_until(lambda: all(cases_of()[m] >= 1 for m in hot), 20)
            time.sleep(2.5)  # a second firing, if any, would come within `for` + a tick
            counts = cases_of()
            after = {s["entity"]: s for s in http.get("/rules/overheat/state").json()}
        fired_before = [m for m, s in before.items() if s.get("firedAt")]
        twice = [m for m in hot if counts[m] > 1]
        never = [m for m in hot if counts[m] == 0]
        changed = [
            m for m in fired_before if after.get(m, {}).get("firedAt") != before[m]["firedAt"]
        ]
        outcome.check(not twice, f"episodes fired twice: {twice}")
        outcome.check(not never, f"held conditions that never fired: {never}")
        outcome.check(not changed, f"fired episodes whose state changed: {changed}")
        stateless = [m for m in hot if m not in after]
        outcome.check(not stateless, f"hot machines without a rule state: {stateless}")
        moved = [m for m in hot if after.get(m, {}).get("episode", 1) != 1]
        outcome.check(not moved, f"episode numbers moved on: {moved}")
        outcome.figures.update(
            kill_after_acks=at,
            machines_hot=len(hot),
            fired_before_kill=len(fired_before),
            holding_at_kill=sum(
                1 for s in before.values() if s["holding"] and not s.get("firedAt")
            ),
            cases=sum(counts[m] for m in hot),
            fired_twice=len(twice),
        )
    return outcome


def run_all(place_of: Any, seed: int, size: int, mqtt_port: int | None) -> list[Outcome]:
    """Every scenario on fresh places from `place_of(name) -> Place`."""
    return [
        ingest(place_of("ingest"), seed, size, mqtt_port),
        notifications(place_of("notify"), seed, size),
        governance(place_of("governance"), seed, size),
        rules(place_of("rules"), seed, max(6, size // 4)),
    ]
