"""Crash tests on both backends: `kill -9` of a real `cityos serve` during sustained
ingest, notification delivery, governance transitions and rule episodes; a new process on
the same store then has every acknowledged write, subscription, pending notification and
rule state, and no case twice. The scenarios live in tests/reliability/scenarios.py (the
benchmark `python -m bench.crash_bench` runs them larger); each prints its figures and
writes them as JSON next to the test's files."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability import scenarios
from tests.reliability.harness import Outcome, Place, record
from tests.services import private_mosquitto
from tests.stores import StoreFactory

SEED = 9


@pytest.fixture
def place(store_factory: StoreFactory, tmp_path: Path) -> Place:
    """The test's store: a data directory, or a PostgreSQL schema of its own."""
    url = store_factory.url("crash") if store_factory.backend == "postgresql" else None
    return Place(store_factory.backend, tmp_path / "data", url)


def report(outcome: Outcome, tmp_path: Path) -> None:
    record([outcome], tmp_path / "figures.json")
    print(outcome.as_json())
    assert not outcome.problems, outcome.problems


def test_ingest_survives_kill_9(place: Place, tmp_path: Path) -> None:
    with private_mosquitto(tmp_path) as broker:
        outcome = scenarios.ingest(place, SEED, 40, broker.port)
    report(outcome, tmp_path)
    assert outcome.figures["batch_entities_acked"] > 0
    assert outcome.figures["mqtt_gateway_resumed"]


def test_pending_notifications_survive_kill_9(place: Place, tmp_path: Path) -> None:
    outcome = scenarios.notifications(place, SEED, 15)
    report(outcome, tmp_path)
    assert outcome.figures["refused_before_kill"] > 0  # the outbox held them at the kill


def test_governance_survives_kill_9(place: Place, tmp_path: Path) -> None:
    outcome = scenarios.governance(place, SEED, 20)
    report(outcome, tmp_path)
    assert outcome.figures["transitions_acked"] > 0


def test_rule_episodes_survive_kill_9(place: Place, tmp_path: Path) -> None:
    outcome = scenarios.rules(place, SEED, 8)
    report(outcome, tmp_path)
    assert outcome.figures["fired_before_kill"] > 0
    assert outcome.figures["machines_hot"] > outcome.figures["fired_before_kill"]
