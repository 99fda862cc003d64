"""Run every probe class against a real server and print what held (see __init__)."""

from __future__ import annotations

import argparse
import importlib
import pkgutil
import sys
import time
from pathlib import Path

import httpx
import orjson
from rich.console import Console
from rich.table import Table

from bench.redteam.target import Probe, Target, Verdict, serve

console = Console()


def areas() -> dict[str, list[Probe]]:
    """Every `probes_<area>` module beside this one, by area, with its PROBES."""
    found: dict[str, list[Probe]] = {}
    for module in pkgutil.iter_modules([str(Path(__file__).parent)]):
        if module.name.startswith("probes_"):
            loaded = importlib.import_module(f"bench.redteam.{module.name}")
            found[module.name.removeprefix("probes_")] = list(loaded.PROBES)
    return dict(sorted(found.items()))


def run(target: Target, probe: Probe) -> Verdict:
    try:
        verdict = probe.send(target)
    except httpx.TimeoutException as error:
        verdict = Verdict(True, f"timed out: {error!r}")
    if not target.alive():
        return Verdict(True, f"{verdict.detail}; the server stopped answering")
    return verdict


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--only", default="", help="areas to run, comma-separated")
    parser.add_argument("--json", type=Path, help="write the results here too")
    args = parser.parse_args()
    chosen = {a for a in args.only.split(",") if a}
    selected = {k: v for k, v in areas().items() if not chosen or k in chosen}
    rows: list[dict[str, object]] = []
    started = time.monotonic()
    with serve() as target:
        for area, probes in selected.items():
            for probe in probes:
                verdict = run(target, probe)
                rows.append({"area": area, "probe": probe.name, **verdict.__dict__})
    table = Table(title=f"red team: {len(rows)} probes in {time.monotonic() - started:.0f} s")
    for column in ("area", "probes sent", "refused as they should be", "leaked"):
        table.add_column(column, justify="left" if column == "area" else "right")
    for area in selected:
        mine = [r for r in rows if r["area"] == area]
        leaked = sum(1 for r in mine if r["leaked"])
        table.add_row(area, str(len(mine)), str(len(mine) - leaked), str(leaked))
    total_leaked = sum(1 for r in rows if r["leaked"])
    table.add_row("all", str(len(rows)), str(len(rows) - total_leaked), str(total_leaked))
    console.print(table)
    for row in rows:
        if row["leaked"]:
            console.print(f"[red]LEAKED[/] {row['area']}: {row['probe']}: {row['detail']}")
    if args.json:
        args.json.write_bytes(orjson.dumps(rows, option=orjson.OPT_INDENT_2))
    sys.exit(1 if total_leaked else 0)


if __name__ == "__main__":
    main()
