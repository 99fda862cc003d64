"""Crash scenarios at a larger size, on both backends: kill -9 under load, then count.

    .venv/bin/python -m bench.crash_bench [--backend sqlite|postgresql|both] [--size 200]
        [--seeds 1] [--scenarios ingest,notifications,governance,rules]
        [--store postgresql://postgres@127.0.0.1:5432/test]

Runs the scenarios of the crash tests (tests/reliability/scenarios.py: the same code, more
load) once per seed, each on a fresh store (a temporary SQLite directory, or a throw-away
PostgreSQL schema), with a private Mosquitto for the MQTT measures. Prints a table of the
figures (acknowledged, found after restart, owed, delivered, duplicated) and the problems
found, and writes bench/out/crash.json. Loopback only; every wait is bounded.
"""

from __future__ import annotations

import argparse
import shutil
import signal
import tempfile
from pathlib import Path
from typing import Any

from tests.reliability import scenarios
from tests.reliability.harness import Outcome, Place, record
from tests.services import private_mosquitto

from bench.broker_bench import OUT, ROOT, stop_on_sigterm
from bench.pg import schemas

SCENARIOS = ("ingest", "notifications", "governance", "rules")
POSTGRES = "postgresql://postgres@127.0.0.1:5432/test"


def run_one(name: str, place: Place, seed: int, size: int, mqtt_port: int) -> Outcome:
    if name == "ingest":
        return scenarios.ingest(place, seed, size, mqtt_port)
    if name == "notifications":
        return scenarios.notifications(place, seed, size)
    if name == "governance":
        return scenarios.governance(place, seed, size)
    return scenarios.rules(place, seed, max(6, size // 10))


def run(args: argparse.Namespace, folder: Path) -> list[Outcome]:
    backends = ("sqlite", "postgresql") if args.backend == "both" else (args.backend,)
    outcomes: list[Outcome] = []
    with private_mosquitto(folder) as broker, schemas(args.store) as pg:
        for seed in range(1, args.seeds + 1):
            for backend in backends:
                for name in args.scenarios.split(","):
                    tag = f"{name}_{backend}_{seed}"
                    url = pg(tag) if backend == "postgresql" else None
                    place = Place(backend, folder / tag, url)
                    outcome = run_one(name, place, seed, args.size, broker.port)
                    outcome.figures["seed"] = seed
                    outcomes.append(outcome)
                    print(f"  {tag}: {'ok' if not outcome.problems else outcome.problems}")
    return outcomes


FIGURES = (
    ("batch writes acked/found", "batch_entities_acked", "batch_entities_found"),
    ("PATCHes acked/in history", "patches_acked", "patches_in_history"),
    ("HTTP measures acked/in history", "http_measures_acked", "http_measures_in_history"),
    ("MQTT PUBACKed before kill/applied", "mqtt_pubacked_before_kill", "mqtt_in_history"),
    ("MQTT PUBACKed while down/applied", "mqtt_pubacked_while_down", "mqtt_while_down_in_history"),
    ("notifications owed/delivered", "notifications_owed", "notifications_delivered"),
    ("notifications duplicated", "notifications_duplicated", None),
    ("subscriptions made/found", "subscriptions", "subscriptions_found"),
    ("cases acked/found", "cases_acked", "cases_found"),
    ("reports/actions retried", "reports_retried", "transitions_retried"),
    ("cases duplicated", "duplicate_cases", None),
    ("transitions acked/in trail", "transitions_acked", "transitions_found"),
    ("rule: hot machines/cases", "machines_hot", "cases"),
    ("rule: fired before kill/twice", "fired_before_kill", "fired_twice"),
)


def table(outcomes: list[Outcome]) -> None:
    """One row per figure, one column per backend, summed over the seeds."""
    backends = sorted({o.backend for o in outcomes})
    totals: dict[str, dict[str, int]] = {b: {} for b in backends}
    for outcome in outcomes:
        for key, value in outcome.figures.items():
            if isinstance(value, int | bool):
                totals[outcome.backend][key] = totals[outcome.backend].get(key, 0) + int(value)
    print(f"\n{'figure':<36}" + "".join(f"{b:>16}" for b in backends))
    for label, first, second in FIGURES:
        cells = []
        for backend in backends:
            found: dict[str, Any] = totals[backend]
            if first not in found:
                cells.append("-")
            elif second is None:
                cells.append(str(found[first]))
            else:
                cells.append(f"{found[first]}/{found.get(second, 0)}")
        if any(c != "-" for c in cells):
            print(f"{label:<36}" + "".join(f"{c:>16}" for c in cells))
    problems = [p for o in outcomes for p in o.problems]
    print(f"problems: {len(problems)}" + "".join(f"\n  {p}" for p in problems))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend", choices=["sqlite", "postgresql", "both"], default="both")
    parser.add_argument("--size", type=int, default=200, help="operations per writer")
    parser.add_argument("--seeds", type=int, default=1, help="runs, each a different kill")
    parser.add_argument("--scenarios", default=",".join(SCENARIOS))
    parser.add_argument("--store", default=POSTGRES, help="the PostgreSQL database to use")
    parser.add_argument("--out", type=Path, default=OUT / "crash.json")
    args = parser.parse_args()
    unknown = set(args.scenarios.split(",")) - set(SCENARIOS)
    if unknown:
        parser.error(f"unknown scenarios: {', '.join(sorted(unknown))}")
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    folder = Path(tempfile.mkdtemp(prefix="cityos-crash-"))
    try:
        outcomes = run(args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    table(outcomes)
    record(outcomes, args.out)
    print(f"written to {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")


if __name__ == "__main__":
    main()
