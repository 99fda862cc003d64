"""Rule evaluation throughput: 1,000 active rules, on the listener path and end to end.

    .venv/bin/python -m bench.rules_bench [--updates 50000] [--e2e-updates 5000]

The rules: 100 entity types x 10 rules each. Per type: four thresholds on `temperature`
(two with `for: 5m`), two compound ones (`temperature>…;status=="running"`), two on
`humidity`, one on `level>…|pressure<…`, one `deviates` on `vibration` (1 h window, z 4,
20 samples). Thresholds sit in the upper tail of the readings, so a few per cent of
updates start or end an episode, as in a city where most readings are normal.

(a) Listener path: prepared EntityChanges (one sensor reading: temperature and vibration
changed on one of 2,000 entities) handed straight to `RuleEngine.on_commit`, as the
broker does after a commit; state changes are saved by the worker thread meanwhile.
(b) End to end: the same readings through `Broker.merge` on a SQLite store (WAL,
synchronous=NORMAL), with the engine attached against the same broker without rules.
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from dataclasses import replace
from pathlib import Path
from typing import Any

from cityos.context.broker import Broker, iso_time
from cityos.context.entity import Entity, EntityChange
from cityos.context.jsonld import ContextResolver
from cityos.context.normalize import parse_entity
from cityos.governance.model import Report
from cityos.rules.engine import RuleEngine
from cityos.rules.model import compile_rules
from cityos.store.sqlite import SQLiteStore

TYPES = 100
PER_TYPE = 20
VOCAB = "https://uri.etsi.org/ngsi-ld/default-context/"


def rules_for(type_no: int) -> list[dict[str, Any]]:
    kind = f"Sensor{type_no}"
    then = [{"case": {"category": "threshold"}}]
    docs: list[dict[str, Any]] = []
    for limit, hold in ((38, "0"), (40, "5m"), (42, "0"), (45, "5m")):
        docs.append({"when": {"q": f"temperature>{limit}", "for": hold}})
    for limit in (35, 39):
        docs.append({"when": {"q": f'temperature>{limit};status=="running"', "for": "1m"}})
    for limit in (90, 95):
        docs.append({"when": {"q": f"humidity>{limit}"}})
    docs.append({"when": {"q": "level>4.5|pressure<960"}})
    docs.append(
        {
            "when": {
                "deviates": {
                    "attribute": "vibration",
                    "window": "1h",
                    "zscore": 4,
                    "min_samples": 20,
                }
            }
        }
    )
    return [
        {"id": f"{kind}-{n}", "type": kind, "cooldown": "30m", "then": then, **doc}
        for n, doc in enumerate(docs)
    ]


def entity(type_no: int, n: int, rng: random.Random, now: str) -> Entity:
    body = {
        "id": f"urn:ngsi-ld:Sensor{type_no}:{n}",
        "type": f"Sensor{type_no}",
        "temperature": {"type": "Property", "value": round(rng.gauss(25, 5), 1)},
        "humidity": {"type": "Property", "value": round(rng.uniform(30, 80), 1)},
        "pressure": {"type": "Property", "value": 1013},
        "level": {"type": "Property", "value": 1.0},
        "vibration": {"type": "Property", "value": round(rng.gauss(5, 0.5), 2)},
        "status": {"type": "Property", "value": "running"},
    }
    return parse_entity(body, ContextResolver().core, now)


def reading(rng: random.Random) -> dict[str, float]:
    return {
        "temperature": round(rng.gauss(25, 5), 1),
        "vibration": round(rng.gauss(5, 0.5), 2),
    }


def changes(base: dict[str, Entity], count: int, rng: random.Random) -> list[EntityChange]:
    """`count` readings, each a change of temperature and vibration on one entity."""
    out: list[EntityChange] = []
    current = dict(base)
    ids = list(base)
    start = time.time()
    for i in range(count):
        entity_id = rng.choice(ids)
        before = current[entity_id]
        stamp = iso_time(start + i * 0.01)
        attrs = dict(before.attrs)
        for name, value in reading(rng).items():
            attrs[VOCAB + name] = [
                {"type": "Property", "value": value, "createdAt": stamp, "modifiedAt": stamp}
            ]
        after = replace(before, attrs=attrs, modified_at=stamp)
        current[entity_id] = after
        out.append(EntityChange(entity_id, before, after))
    return out


def engine_for(broker: Broker) -> tuple[RuleEngine, list[Report]]:
    opened: list[Report] = []

    def opener(tenant: str, report: Report) -> str:
        opened.append(report)
        return report.case_id or ""

    engine = RuleEngine(broker, ContextResolver(), open_case=opener)
    return engine, opened


def listener_path(data: Path, updates: int, rng: random.Random) -> dict[str, float]:
    store = SQLiteStore(data / "listener", synchronous="NORMAL")
    broker = Broker(store)
    engine, opened = engine_for(broker)
    resolver = ContextResolver()
    now = iso_time(time.time())
    entities = {
        e.id: e for t in range(TYPES) for n in range(PER_TYPE) for e in [entity(t, n, rng, now)]
    }
    with engine.running():
        for rule in compile_rules([d for t in range(TYPES) for d in rules_for(t)], resolver):
            engine.put("", rule)
        engine.on_commit("", [EntityChange(e.id, None, e) for e in entities.values()])
        engine.wait_idle()
        prepared = changes(entities, updates, rng)
        started = time.perf_counter()
        for change in prepared:
            engine.on_commit("", [change])
        elapsed = time.perf_counter() - started
        engine.wait_idle()
        drained = time.perf_counter() - started
        statuses = engine.statuses("")
    store.close()
    return {
        "rules": len(statuses),
        "updates": updates,
        "rate": updates / elapsed,
        "rate_with_saving": updates / drained,
        "fired": sum(s.fired for s in statuses),
        "cases": len(opened),
    }


def end_to_end(data: Path, updates: int, seed: int, with_rules: bool) -> float:
    rng = random.Random(seed)
    store = SQLiteStore(data / ("e2e-rules" if with_rules else "e2e-plain"), synchronous="NORMAL")
    broker = Broker(store)
    core = ContextResolver().core
    now = iso_time(time.time())
    entities = [entity(t, n, rng, now) for t in range(TYPES) for n in range(PER_TYPE)]
    engine, _ = engine_for(broker)
    with engine.running():
        if with_rules:
            rules = compile_rules(
                [d for t in range(TYPES) for d in rules_for(t)], ContextResolver()
            )
            for rule in rules:
                engine.put("", rule)
        else:
            broker.listeners.remove(engine.on_commit)  # the same broker, nobody listening
        broker.batch_upsert("", [(e.id, e) for e in entities])
        engine.wait_idle()
        ids = [e.id for e in entities]
        fragments = []
        for _ in range(updates):
            body = {k: {"type": "Property", "value": v} for k, v in reading(rng).items()}
            fragments.append((rng.choice(ids), parse_entity(body, core, now, partial=True)))
        started = time.perf_counter()
        for entity_id, fragment in fragments:
            broker.merge("", entity_id, fragment)
        engine.wait_idle()
        elapsed = time.perf_counter() - started
        if not with_rules:
            broker.listeners.append(engine.on_commit)
    store.close()
    return updates / elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--updates", type=int, default=50_000)
    parser.add_argument("--e2e-updates", type=int, default=5_000)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="cityos-rules-bench-") as tmp:
        data = Path(tmp)
        listener = listener_path(data, args.updates, random.Random(args.seed))
        plain = end_to_end(data, args.e2e_updates, args.seed, with_rules=False)
        ruled = end_to_end(data, args.e2e_updates, args.seed, with_rules=True)
    print(f"rules: {listener['rules']:,.0f} ({TYPES} types x 10), {TYPES * PER_TYPE:,} entities")
    print(
        f"(a) listener path: {listener['rate']:,.0f} updates/s evaluated "
        f"({listener['rate_with_saving']:,.0f}/s until every state change was saved); "
        f"{listener['fired']:,.0f} firings over {listener['updates']:,.0f} updates "
        "(target >= 5,000 updates/s)"
    )
    print(
        f"(b) end to end, Broker.merge on SQLite: {ruled:,.0f} updates/s with the rules, "
        f"{plain:,.0f} without: ratio {ruled / plain:.2f}"
    )


if __name__ == "__main__":
    main()
