"""Issue 3's three figures in one run: notification latency, MQTT ingestion, temporal aggregation.

    .venv/bin/python -m bench.events_bench [--quick]

Runs, one after the other on the same machine, `bench.notify_bench` (p50/p99 from accepted
update to webhook receipt at 1,000 updates/s with 100 subscriptions), `bench.mqtt_bench`
(measures ingested per second against Mosquitto's own publish-to-subscriber rate) and
`bench.temporal_bench` (hourly avg over a year of one-minute readings from 10 sensors,
against the same aggregate in plain SQL), and prints what each reports. `--quick` shrinks
each to a smoke run of a minute or two.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time

from bench.broker_bench import machine

RUNS: list[tuple[str, list[str], list[str]]] = [
    ("notification latency", ["bench.notify_bench"], ["--seconds", "3"]),
    ("MQTT ingestion", ["bench.mqtt_bench"], ["--quick"]),
    ("temporal aggregation", ["bench.temporal_bench"], ["--points", "500000", "--repeat", "1"]),
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small runs, for a smoke test")
    args = parser.parse_args()
    print(json.dumps(machine()))
    for title, module, quick in RUNS:
        print(f"\n== {title} ==", flush=True)
        began = time.monotonic()
        command = [sys.executable, "-m", *module, *(quick if args.quick else [])]
        done = subprocess.run(command, stdin=subprocess.DEVNULL, timeout=3600, check=False)
        print(f"({title}: {time.monotonic() - began:.0f} s, exit {done.returncode})")
        if done.returncode:
            sys.exit(done.returncode)


if __name__ == "__main__":
    main()
