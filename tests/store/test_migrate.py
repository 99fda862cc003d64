"""`cityos migrate`: an embedded city moved into another store answers as it did.

The source is a small but complete city on SQLite (the demo's Chongqing districts, sensors
with months of history in two tenants, a context, a subscription owing deliveries, a rule
with state, a device, cases with trails and a follower); the target is each backend in
turn (PostgreSQL is the product path; SQLite shows the migration is backend-neutral).
"""

from __future__ import annotations

import shutil
import uuid
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from typing import Any

import psycopg
import pytest
from typer.testing import CliRunner

from cityos.auth.keys import ApiKeys
from cityos.cli import app, load_sample
from cityos.context.broker import Broker
from cityos.context.entity import Entity
from cityos.context.geo import GeoQuery
from cityos.context.jsonld import ContextResolver
from cityos.context.temporal import Aggregation, TimeInterval
from cityos.governance.config import load_config
from cityos.governance.model import CaseFilter, Report, Source
from cityos.governance.service import CaseService
from cityos.store.base import EntityQuery, Store, StoredContext
from cityos.store.cases import StatsQuery
from cityos.store.census_sql import GLOBAL, PER_TENANT
from cityos.store.devices import AttributeMapping, Device, StaticAttribute
from cityos.store.devices_sql import SqlDevices
from cityos.store.history import INSTANCE_PREFIX, TemporalQuery
from cityos.store.migrate import TENANTS, MigrationError, migrate, open_source
from cityos.store.rules import RuleState, StoredRule
from cityos.store.sqlite import SQLiteStore
from cityos.store.subscriptions import PendingDelivery, StoredSubscription
from tests.governance.conftest import (
    CITIZEN,
    INSPECTOR,
    OPERATOR,
    YUZHONG,
    ManualClock,
    crew,
)
from tests.serve import served
from tests.stores import POSTGRES_URL, StoreFactory, require_postgres

SENSOR = "https://example.org/Sensor"
TEMPERATURE = "https://example.org/temperature"
LOCATION = "https://uri.etsi.org/ngsi-ld/location"
MONTHS = ("2026-01-15T08:00:00Z", "2026-02-15T08:00:00Z", "2026-03-15T08:00:00Z")
JAN_1_MS = 1_767_225_600_000  # 2026-01-01T00:00:00Z
HOUR_MS = 3_600_000
TENANT_PLACES = {"chongqing": (106.55, 29.56), "warsaw": (21.01, 52.23)}
SUBSCRIPTION = "urn:ngsi-ld:Subscription:hot"
RULE = "urn:ngsi-ld:Rule:hot"


def sensor(tenant: str, n: int, month: int) -> Entity:
    lon, lat = TENANT_PLACES[tenant]
    at = MONTHS[month]
    return Entity(
        f"urn:ngsi-ld:Sensor:{n}",
        [SENSOR],
        {
            TEMPERATURE: [{"type": "Property", "value": 10.5 * n + month, "observedAt": at}],
            LOCATION: [{"type": "GeoProperty", "value": point(lon + n / 100, lat)}],
        },
        None,
        MONTHS[0],
        at,
    )


def point(lon: float, lat: float) -> dict[str, Any]:
    return {"type": "Point", "coordinates": [lon, lat]}


def run(*args: str) -> Any:
    """`cityos migrate ARGS`, in process, on a wide terminal."""
    return CliRunner().invoke(app, ["migrate", *args], env={"COLUMNS": "300"})


def pothole(location: tuple[float, float], **extra: Any) -> Report:
    return Report(
        category="pothole",
        source=Source.CITIZEN,
        location=location,
        description="A deep hole in the bus lane",
        reporter=extra.get("reporter", {"email": CITIZEN.id}),
    )


def build_city(path: Path) -> None:
    """A city with something of every kind the store keeps."""
    store = SQLiteStore(path, synchronous="OFF")
    assert load_sample(store) > 0  # the demo's districts, in the default tenant
    for tenant in TENANT_PLACES:
        for month in range(len(MONTHS)):  # three months of history, so partitions
            store.commit(tenant, [sensor(tenant, n, month) for n in range(5)])
        hourly = [(JAN_1_MS + i * HOUR_MS, float(i % 24)) for i in range(24 * 70)]
        store.history.load_series(tenant, sensor(tenant, 9, 0), TEMPERATURE, hourly)
    store.commit("warsaw", [], deletes=["urn:ngsi-ld:Sensor:4"])  # gone; its history stays
    [first] = store.history.query(
        "warsaw", TemporalQuery(EntityQuery(ids=["urn:ngsi-ld:Sensor:0"]), last_n=1)
    ).entities
    instance = first.entity.attrs[TEMPERATURE][0]["instanceId"]
    assert store.history.delete_instance("warsaw", first.entity.id, TEMPERATURE, instance)
    store.history.set_retention(None, 3650)
    store.history.set_retention("warsaw", 400)
    store.put_context(
        StoredContext(
            "ctx-1", "urn:example:ctx", "Hosted", {"@context": {"t": TEMPERATURE}}, MONTHS[0]
        )
    )
    clock = ManualClock()
    service = CaseService(Broker(store), load_config(), clock)
    original = service.report("chongqing", pothole(YUZHONG), CITIZEN)
    nearby = (YUZHONG[0] + 0.0003, YUZHONG[1])
    duplicate = service.report(
        "chongqing", pothole(nearby, reporter={"email": "li@example.cn"}), CITIZEN
    )
    service.act("chongqing", duplicate.id, "merge", OPERATOR, into=original.id)
    walked = service.report("chongqing", pothole((106.50, 29.53)), CITIZEN)
    for action, actor in (
        ("accept", OPERATOR),
        ("dispatch", OPERATOR),
        ("start", crew(walked.department)),
        ("resolve", crew(walked.department)),
        ("verify", INSPECTOR),
        ("close", OPERATOR),
    ):
        clock.advance(hours=3)
        service.act("chongqing", walked.id, action, actor, "done" if action == "resolve" else None)
    rule = StoredRule("chongqing", RULE, {"type": "Rule", "when": "temperature>40"}, *MONTHS[:2])
    store.rules.put_rule(rule)
    store.rules.put_rule(rule)  # version 2
    state = RuleState("chongqing", RULE, "urn:ngsi-ld:Sensor:4", 2, False, 1.5e9, 1.6e9, 3, 3)
    store.rules.save_states([state], [("chongqing", RULE, 2, 1.6e9)])
    store.devices.add_device(
        Device(
            "chongqing",
            "thermo-1",
            "key-1",
            "urn:ngsi-ld:Sensor:1",
            "Sensor",
            [AttributeMapping("t", "temperature", "Number", "CEL")],
            [StaticAttribute("brand", "Property", "acme")],
            created_at=MONTHS[0],
            modified_at=MONTHS[0],
        )
    )
    ApiKeys(store.keys).create("operations desk", ["operator"], ["chongqing"])
    # Last: once a tenant has a subscription, its commits are logged for the notifier.
    store.subscriptions.put_subscription(
        StoredSubscription(
            "chongqing",
            SUBSCRIPTION,
            {"type": "Subscription", "entities": [{"type": "Sensor"}]},
            "https://uri.etsi.org/ngsi-ld/v1/ngsi-ld-core-context.jsonld",
            MONTHS[0],
            MONTHS[1],
            {"timesSent": 4, "timesFailed": 2, "status": "failed"},
        )
    )
    for change_seq, body in ((7, b'{"n": 2}'), (3, b'{"n": 1}')):  # parked out of order
        store.subscriptions.add_pending(
            PendingDelivery(
                "chongqing",
                SUBSCRIPTION,
                body,
                {"Content-Type": "application/json"},
                2,
                1.7e9,
                1.69e9,
                change_seq=change_seq,
            )
        )
    store.close()


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("city") / "data"
    build_city(path)
    return path


@pytest.fixture
def city(built: Path, tmp_path: Path) -> Path:
    """A copy of the built city of the test's own."""
    return Path(shutil.copytree(built, tmp_path / "city"))


@pytest.fixture
def source(city: Path) -> Iterator[SQLiteStore]:
    opened = open_source(city)
    yield opened
    opened.close()


def entities_of(store: Store, tenant: str, **query: Any) -> list[Entity]:
    return store.query(tenant, EntityQuery(limit=1000, **query)).entities


def history_of(store: Store, tenant: str, **query: Any) -> list[Any]:
    selector = EntityQuery(limit=100)
    return store.history.query(tenant, TemporalQuery(selector, **query)).entities


def test_the_migrated_city_answers_as_the_source_did(
    source: SQLiteStore, store_factory: StoreFactory
) -> None:
    target = store_factory("target")
    report = migrate(source, target)
    assert report.ok
    kinds = {count.kind for count in report.counts}
    assert kinds == {*PER_TENANT, *GLOBAL, TENANTS}  # the city holds every kind
    assert target.tenants() == source.tenants() == ["chongqing", "warsaw"]
    for tenant in ("", *TENANT_PLACES):
        assert entities_of(target, tenant) == entities_of(source, tenant)
        everything = history_of(source, tenant)
        assert everything  # instanceIds included: they are the same rows
        assert history_of(target, tenant) == everything
        hourly = Aggregation(("avg", "max", "totalCount"), 24 * HOUR_MS, "P1D")
        assert history_of(target, tenant, aggregation=hourly) == history_of(
            source, tenant, aggregation=hourly
        )
        march = TimeInterval("after", time_at_ms=JAN_1_MS + 59 * 24 * HOUR_MS)
        assert history_of(target, tenant, interval=march, last_n=2) == history_of(
            source, tenant, interval=march, last_n=2
        )
    sensor_1 = "urn:ngsi-ld:Sensor:1"
    assert target.get("chongqing", sensor_1) == source.get("chongqing", sensor_1)
    assert target.get("warsaw", "urn:ngsi-ld:Sensor:4") is None
    yuzhong = GeoQuery("intersects", point(*YUZHONG), ContextResolver().core.expand("boundary"))
    found = entities_of(target, "", geo=yuzhong)
    assert [e.id for e in found] == [e.id for e in entities_of(source, "", geo=yuzhong)]
    assert len(found) == 1  # the district Jiefangbei is in
    near = GeoQuery("near", point(21.0, 52.23), LOCATION, 2000)
    assert {e.id for e in entities_of(target, "warsaw", geo=near)} == {
        e.id for e in entities_of(source, "warsaw", geo=near)
    }
    assert target.history.retention() == source.history.retention() == {None: 3650, "warsaw": 400}
    assert target.list_contexts() == source.list_contexts()

    cases = source.cases.find("chongqing", CaseFilter())
    assert len(cases) == 3
    assert target.cases.find("chongqing", CaseFilter()) == cases
    for case in cases:
        assert [replace(e, seq=0) for e in target.cases.trail("chongqing", case.id)] == [
            replace(e, seq=0) for e in source.cases.trail("chongqing", case.id)
        ]
        assert target.cases.followers("chongqing", case.id) == source.cases.followers(
            "chongqing", case.id
        )
    assert sum(len(target.cases.followers("chongqing", c.id)) for c in cases) == 1
    stats = StatsQuery(ManualClock().now, group_by=["department"])
    assert target.cases.statistics("chongqing", stats) == source.cases.statistics(
        "chongqing", stats
    )
    token = next(c.token for c in cases if c.token)
    assert target.cases.by_token("chongqing", token) == source.cases.by_token("chongqing", token)

    assert target.subscriptions.list_subscriptions() == source.subscriptions.list_subscriptions()
    owed = target.subscriptions.pending("chongqing", SUBSCRIPTION)
    assert [d.body for d in owed] == [b'{"n": 1}', b'{"n": 2}']  # still in commit order
    assert [replace(d, seq=0, change_seq=0) for d in owed] == [
        replace(d, seq=0, change_seq=0)
        for d in source.subscriptions.pending("chongqing", SUBSCRIPTION)
    ]
    assert target.subscriptions.pending_subscriptions() == {("chongqing", SUBSCRIPTION): 0}
    assert target.rules.list_rules() == source.rules.list_rules()
    assert [(r.version, r.fired) for r in target.rules.list_rules()] == [(2, 1)]
    assert target.rules.rule_states() == source.rules.rule_states()
    assert target.devices.list_devices("chongqing", 10, 0) == source.devices.list_devices(
        "chongqing", 10, 0
    )
    assert target.devices.find_devices(["thermo-1"]) == source.devices.find_devices(["thermo-1"])


def test_the_migrated_city_goes_on_living(source: SQLiteStore, store_factory: StoreFactory) -> None:
    """New entities come after the migrated ones, new instances after the migrated ids."""
    target = store_factory("target")
    assert migrate(source, target).ok
    highest = max(
        int(inst["instanceId"].removeprefix(INSTANCE_PREFIX))
        for tenant in TENANT_PLACES
        for item in history_of(source, tenant)
        for instances in item.entity.attrs.values()
        for inst in instances
    )
    later = replace(sensor("warsaw", 1, 2), modified_at="2026-04-15T08:00:00Z")
    later.attrs[TEMPERATURE] = [
        {"type": "Property", "value": 99.0, "observedAt": "2026-04-15T08:00:00Z"}
    ]
    fresh = replace(sensor("warsaw", 7, 2), id="urn:ngsi-ld:Sensor:new")
    target.commit("warsaw", [later, fresh])
    [item] = [e for e in history_of(target, "warsaw", last_n=1) if e.entity.id == later.id]
    [newest] = item.entity.attrs[TEMPERATURE]
    assert newest["value"] == 99.0
    assert int(newest["instanceId"].removeprefix(INSTANCE_PREFIX)) > highest
    assert entities_of(target, "warsaw")[-1].id == fresh.id


def test_progress_counts_every_kind_to_its_total(
    source: SQLiteStore, store_factory: StoreFactory
) -> None:
    seen: dict[str, tuple[int, int]] = {}
    report = migrate(
        source,
        store_factory("target"),
        lambda kind, done, total: seen.update({kind: (done, total)}),
    )
    totals = {count.kind: 0 for count in report.counts}
    for count in report.counts:
        totals[count.kind] += count.source
    for kind, (done, total) in seen.items():
        assert done == total == totals[kind], kind
    assert {"entities", "history instances", "cases", "devices"} <= set(seen)


def test_a_target_holding_a_city_is_refused(
    source: SQLiteStore, store_factory: StoreFactory
) -> None:
    target = store_factory("target")
    assert migrate(source, target).ok
    before = target.census()
    with pytest.raises(MigrationError, match="already holds a city"):
        migrate(source, target)
    assert target.census() == before


def test_changes_the_subscriptions_have_not_seen_are_refused(
    tmp_path: Path, store_factory: StoreFactory
) -> None:
    store = SQLiteStore(tmp_path / "busy", synchronous="OFF")
    store.subscriptions.put_subscription(
        StoredSubscription("", SUBSCRIPTION, {"type": "Subscription"}, None, MONTHS[0], MONTHS[0])
    )
    store.commit("", [sensor("warsaw", 1, 0)])  # logged, never matched: no server ran
    store.close()
    busy = open_source(tmp_path / "busy")
    target = store_factory("target")
    try:
        with pytest.raises(MigrationError, match="Start and stop it once"):
            migrate(busy, target)
    finally:
        busy.close()
    assert target.census() == {}


# -- the command ---------------------------------------------------------------------------


@pytest.fixture
def postgres(tmp_path: Path) -> Iterator[StoreFactory]:
    factory = StoreFactory("postgresql", tmp_path)
    yield factory
    factory.close()


def test_the_command_moves_the_city_and_prints_the_counts(
    city: Path, postgres: StoreFactory
) -> None:
    result = run("--from", str(city), "--to", postgres.url("cli"))
    assert result.exit_code == 0, result.output
    assert "migrated in" in result.output
    assert "history instances" in result.output and "✗" not in result.output
    moved = postgres("cli")
    source = open_source(city)
    try:
        assert moved.census() == source.census()
        assert entities_of(moved, "chongqing") == entities_of(source, "chongqing")
    finally:
        source.close()


def test_the_command_fails_when_the_counts_differ(
    city: Path, postgres: StoreFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(SqlDevices, "load_devices", lambda self, devices: None)
    result = run("--from", str(city), "--to", postgres.url("lossy"))
    assert result.exit_code == 1
    assert "✗" in result.output
    assert "does not hold what the source holds" in result.output


def test_bad_sources_are_refused_with_reasons(city: Path, tmp_path: Path) -> None:
    target = "postgresql://postgres@127.0.0.1:1/unused"  # never reached
    empty = tmp_path / "empty"
    empty.mkdir()
    garbage = tmp_path / "garbage"
    garbage.mkdir()
    (garbage / "cityos.db").write_text("not a database")
    for where, reason in (
        (tmp_path / "missing", "is not a directory"),
        (empty, "is not a cityos data directory"),
        (garbage, "is not a cityos data directory"),
    ):
        result = run("--from", str(where), "--to", target)
        assert result.exit_code == 2, where
        assert reason in result.output, result.output
    assert not (empty / "cityos.db").exists()  # looked at, not created


def test_a_city_with_its_server_running_is_refused_until_it_stops(
    city: Path, postgres: StoreFactory
) -> None:
    target = postgres.url("after")
    with served(city):
        refused = run("--from", str(city), "--to", target)
    assert refused.exit_code == 2
    assert "is in use" in refused.output and "Stop it" in refused.output
    stopped = run("--from", str(city), "--to", target)
    assert stopped.exit_code == 0, stopped.output


def test_bad_targets_are_refused_with_reasons(city: Path, postgres: StoreFactory) -> None:
    schema = postgres.schema("nopath")
    postgres._schemas.add(schema)  # dropped at the end
    for url, reason in (
        ("mysql://x", "postgresql:// URL"),
        ("postgresql://nobody:secret@127.0.0.1:1/none?connect_timeout=1", "127.0.0.1"),
        (f"{POSTGRES_URL}?bogus=1", 'invalid URI query parameter: "bogus"'),
        (f"{POSTGRES_URL}?options=-csearch_path%3D{schema}", "PostGIS is not on the"),
    ):
        result = run("--from", str(city), "--to", url)
        assert result.exit_code == 2, url
        assert reason in result.output, result.output
        assert "secret" not in result.output


@pytest.fixture
def without_postgis() -> Iterator[str]:
    """A database of its own, owned by a role that may not create PostGIS."""
    admin = require_postgres()
    name = f"cityos_nopostgis_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f"CREATE ROLE {name} LOGIN")
        conn.execute(f"CREATE DATABASE {name} OWNER {name}")
    try:
        url = f"postgresql://{name}@127.0.0.1:5432/{name}"
        with psycopg.connect(url, autocommit=True) as conn:
            if conn.execute("SELECT 1 FROM pg_extension WHERE extname = 'postgis'").fetchone():
                pytest.skip("new databases come with PostGIS here (template1 has it)")
        yield url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
            conn.execute(f"DROP ROLE IF EXISTS {name}")


def test_a_database_without_postgis_is_refused(city: Path, without_postgis: str) -> None:
    result = run("--from", str(city), "--to", without_postgis)
    assert result.exit_code == 2
    assert "PostGIS is missing" in result.output
    assert "CREATE EXTENSION postgis" in result.output
