"""A soak run: the demo city at full speed for a long while, memory and latency sampled.

    .venv/bin/python -m bench.soak [--minutes 30] [--speed 1000] [--every 10]
        [--scenario chongqing] [--mqtt mqtt://127.0.0.1:1883]

Starts `cityos demo` (the embedded store, every domain pack simulated through the real
device paths, rules and cases at work) on a throw-away data directory, at a speed the
simulator cannot keep up with (a slow step is not made up, so it steps back to back: full
speed). Every `--every` seconds it samples the process's resident memory (VmRSS), its open
file descriptors and threads, the load average and the ingestion counters; meanwhile one
client calls GET entity, a query, a temporal query (lastN) and GET /types in a loop, and
each window gets p50/p99 per call. At the end the last 5 minutes are compared with minutes
5-10 (the first 5 are warm-up): memory growth in MB/hour and per cent, p99 latency ratio.
The bounds (docs/reliability.md): RSS growth < 10 % and p99 within 2x of the early window.
A table on stdout, the samples in bench/out/soak.json. The demo server is one process with
its simulator, so the memory is the server's and the simulator's together.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import shutil
import signal
import statistics
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from bench.broker_bench import OUT, ROOT, machine, server, stop_on_sigterm

CALLS = ("entity", "query", "temporal", "types")
RSS_GROWTH_BOUND = 0.10
P99_RATIO_BOUND = 2.0
WARM_UP_S = 300.0
READY_DEADLINE_S = 300.0
PROBE_PAUSE_S = 0.05


def proc_status(pid: int) -> dict[str, float]:
    """VmRSS (MB), threads and open descriptors of `pid`, from /proc."""
    fields: dict[str, float] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        if key == "VmRSS":
            fields["rss_mb"] = int(value.split()[0]) / 1024
        elif key == "Threads":
            fields["threads"] = int(value)
    fields["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    return fields


def percentile(values: list[float], share: float) -> float:
    """Nearest-rank percentile; NaN for no values."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(share * len(ordered)) - 1))]


@dataclass
class Probe:
    """Calls the API in a loop on a thread; `take` hands over what was timed since."""

    port: int
    paths: dict[str, str]
    timings: dict[str, list[float]] = field(default_factory=lambda: {c: [] for c in CALLS})
    errors: int = 0
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def run(self) -> None:
        with httpx.Client(base_url=f"http://127.0.0.1:{self.port}", timeout=30) as http:
            while not self.stop.is_set():
                for call in CALLS:
                    started = time.perf_counter()
                    try:
                        ok = http.get(self.paths[call]).status_code == 200
                    except httpx.HTTPError:
                        ok = False
                    elapsed = (time.perf_counter() - started) * 1000
                    with self.lock:
                        if ok:
                            self.timings[call].append(elapsed)
                        else:
                            self.errors += 1
                self.stop.wait(PROBE_PAUSE_S)

    def take(self) -> tuple[dict[str, list[float]], int]:
        with self.lock:
            taken, errors = self.timings, self.errors
            self.timings, self.errors = {c: [] for c in CALLS}, 0
        return taken, errors


def city_paths(http: httpx.Client) -> dict[str, str]:
    """The probe's four calls, on entities the simulator keeps updating; waits (bounded)
    until the city is loaded and a simulated entity has some history."""
    deadline = time.monotonic() + READY_DEADLINE_S
    while time.monotonic() < deadline:
        for kind in ("AirQualityObserved", "Machine", "Vehicle", "FloodSensor"):
            found = http.get("/ngsi-ld/v1/entities", params={"type": kind, "limit": "1"})
            if found.status_code == 200 and found.json():
                entity = found.json()[0]
                numeric = [
                    name
                    for name, value in entity.items()
                    if isinstance(value, dict) and isinstance(value.get("value"), int | float)
                ]
                if numeric:
                    ident = entity["id"]
                    return {
                        "entity": f"/ngsi-ld/v1/entities/{ident}",
                        "query": f"/ngsi-ld/v1/entities?type={kind}&q={numeric[0]}>0&limit=20",
                        "temporal": f"/ngsi-ld/v1/temporal/entities/{ident}"
                        f"?attrs={numeric[0]}&lastN=50",
                        "types": "/ngsi-ld/v1/types",
                    }
        time.sleep(1)
    raise RuntimeError("the demo city did not load in time")


def ingested(http: httpx.Client) -> float:
    """Measures the device gateway has applied so far (HTTP and MQTT), from /iot/stats."""
    try:
        return float(http.get("/iot/stats").json()["applied"])
    except (httpx.HTTPError, ValueError, KeyError):
        return float("nan")


def window(samples: list[dict[str, Any]], start_s: float, end_s: float) -> dict[str, Any]:
    """Mean RSS, most descriptors, mean per-sample p99 per call, of [start_s, end_s)."""
    inside = [s for s in samples if start_s <= s["t"] < end_s]
    if not inside:
        return {}
    p99 = {call: _mean_finite([s["p99_ms"][call] for s in inside]) for call in CALLS}
    p50 = {call: _mean_finite([s["p50_ms"][call] for s in inside]) for call in CALLS}
    return {
        "from_s": start_s,
        "to_s": end_s,
        "rss_mb": statistics.mean(s["rss_mb"] for s in inside),
        "fds": max(s["fds"] for s in inside),
        "load1": statistics.mean(s["load1"] for s in inside),
        "p50_ms": p50,
        "p99_ms": p99,
    }


def _mean_finite(values: list[float]) -> float:
    finite = [v for v in values if math.isfinite(v)]
    return statistics.mean(finite) if finite else float("nan")


def verdict(samples: list[dict[str, Any]], total_s: float) -> dict[str, Any]:
    """Minutes 5-10 against the last 5 minutes (scaled down for short runs)."""
    span = min(WARM_UP_S, total_s / 3)
    early = window(samples, span, 2 * span)
    late = window(samples, total_s - span, total_s + 1)
    if not early or not late:
        return {}
    hours = (late["from_s"] - early["from_s"]) / 3600
    growth = late["rss_mb"] - early["rss_mb"]
    ratios = {c: late["p99_ms"][c] / early["p99_ms"][c] for c in CALLS}
    medians = {c: late["p50_ms"][c] / early["p50_ms"][c] for c in CALLS}
    return {
        "early": early,
        "late": late,
        "rss_growth_mb": growth,
        "rss_growth_mb_per_hour": growth / hours if hours else float("nan"),
        "rss_growth_share": growth / early["rss_mb"],
        "p99_ratio": ratios,
        "p50_ratio": medians,
        "within_bounds": growth / early["rss_mb"] < RSS_GROWTH_BOUND
        and all(r < P99_RATIO_BOUND for r in ratios.values()),
    }


def soak(args: argparse.Namespace, folder: Path) -> dict[str, Any]:
    command = [
        sys.executable, "-m", "cityos.cli", "demo", "--no-browser", "--scenario", args.scenario,
        "--speed", str(args.speed), "--data", str(folder / "city"), "--mqtt", args.mqtt,
    ]  # fmt: skip
    load_start = os.getloadavg()
    with (
        server(command, "/version") as (port, process),
        httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=30) as http,
    ):
        paths = city_paths(http)
        probe = Probe(port, paths)
        thread = threading.Thread(target=probe.run, daemon=True)
        samples: list[dict[str, Any]] = []
        started = time.monotonic()
        last_count, last_at = ingested(http), started
        thread.start()
        print(f"{'t s':>6} {'RSS MB':>8} {'fds':>5} {'thr':>4} {'meas/s':>8}  "
              + "  ".join(f"{c + ' p50/p99 ms':>22}" for c in CALLS) + "  load")  # fmt: skip
        try:
            while time.monotonic() - started < args.minutes * 60:
                time.sleep(args.every)
                if process.poll() is not None:
                    raise RuntimeError(f"the demo exited with {process.returncode}")
                now = time.monotonic()
                timings, errors = probe.take()
                count = ingested(http)
                sample: dict[str, Any] = {
                    "t": round(now - started, 1),
                    **proc_status(process.pid),
                    "measures_per_s": (count - last_count) / (now - last_at),
                    "p50_ms": {c: percentile(timings[c], 0.50) for c in CALLS},
                    "p99_ms": {c: percentile(timings[c], 0.99) for c in CALLS},
                    "calls": sum(len(v) for v in timings.values()),
                    "errors": errors,
                    "load1": os.getloadavg()[0],
                }
                last_count, last_at = count, now
                samples.append(sample)
                cells = "  ".join(
                    f"{sample['p50_ms'][c]:>10.1f}/{sample['p99_ms'][c]:>10.1f}" for c in CALLS
                )
                print(f"{sample['t']:>6.0f} {sample['rss_mb']:>8.1f} {sample['fds']:>5.0f} "
                      f"{sample['threads']:>4.0f} {sample['measures_per_s']:>8.0f}  {cells}  "
                      f"{sample['load1']:.1f}", flush=True)  # fmt: skip
        finally:
            probe.stop.set()
            thread.join(30)
        entities = http.get("/ngsi-ld/v1/types").json()
    total_s = samples[-1]["t"] if samples else 0.0
    return {
        "machine": machine(),
        "scenario": args.scenario,
        "speed": args.speed,
        "minutes": args.minutes,
        "paths": paths,
        "load_average_start": load_start,
        "load_average_end": os.getloadavg(),
        "types_at_end": entities,
        "samples": samples,
        "verdict": verdict(samples, total_s),
        "bounds": {"rss_growth_share": RSS_GROWTH_BOUND, "p99_ratio": P99_RATIO_BOUND},
    }


def report(result: dict[str, Any]) -> None:
    found = result["verdict"]
    print(f"\nload average at start {result['load_average_start']}, "
          f"at end {result['load_average_end']}")  # fmt: skip
    if not found:
        print("too few samples for a verdict")
        return
    early, late = found["early"], found["late"]
    heads = "  ".join(f"{c + ' p99':>14}" for c in CALLS)
    print(f"window          RSS MB   max fds  {heads}  load")
    for name, part in (("early", early), ("late", late)):
        span = f"{name} {part['from_s'] / 60:.0f}-{part['to_s'] / 60:.0f} min"
        cells = "  ".join(f"{part['p99_ms'][c]:>14.1f}" for c in CALLS)
        print(
            f"{span:<15} {part['rss_mb']:>6.1f}   {part['fds']:>7.0f}  {cells}  {part['load1']:.1f}"
        )
    ratios = ", ".join(f"{c} {r:.2f}x" for c, r in found["p99_ratio"].items())
    middles = ", ".join(f"{c} {r:.2f}x" for c, r in found["p50_ratio"].items())
    print(f"RSS growth {found['rss_growth_mb']:+.1f} MB ({found['rss_growth_share']:+.1%}, "
          f"{found['rss_growth_mb_per_hour']:+.1f} MB/hour)\np99 late/early: {ratios}\n"
          f"p50 late/early: {middles}")  # fmt: skip
    bound = f"< {RSS_GROWTH_BOUND:.0%} RSS growth, p99 < {P99_RATIO_BOUND:g}x"
    print(f"within bounds ({bound}): {'yes' if found['within_bounds'] else 'NO'}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=30)
    parser.add_argument("--speed", type=float, default=1000, help="simulated s per real s")
    parser.add_argument("--every", type=float, default=10, help="seconds between samples")
    parser.add_argument("--scenario", default="chongqing")
    parser.add_argument("--mqtt", default="mqtt://127.0.0.1:1883")
    parser.add_argument("--out", type=Path, default=OUT / "soak.json")
    args = parser.parse_args()
    signal.signal(signal.SIGTERM, stop_on_sigterm)
    folder = Path(tempfile.mkdtemp(prefix="cityos-soak-"))
    try:
        result = soak(args, folder)
    finally:
        shutil.rmtree(folder, ignore_errors=True)
    report(result)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"written to {args.out.relative_to(ROOT) if args.out.is_relative_to(ROOT) else args.out}")


if __name__ == "__main__":
    main()
