"""Summarise a conformance run (robot output.xml) for docs/conformance.md.

    python scripts/conformance_report.py build/conformance/output.xml > docs/conformance-results.md

Each failing case is put under the reason it fails, by its test-purpose number; a case
whose number no reason names is listed as an open failure with the suite's own message.
"""

from __future__ import annotations

import sys
import xml.etree.ElementTree as ET
from collections import Counter, defaultdict
from collections.abc import Iterator

NOT_APPLICABLE = {
    "Endpoints not served yet (context sources; temporal cases counted apart)": (
        "043_01_03",
        "043_01_05",
        "045_01_03",
        "045_01_04",
        "048_01_06",
        "049_01_03",
        "049_01_04",
        "049_01_05",
        "059_01_03",
        "059_01_04",
        "059_01_08",
    ),
    "Remote contexts fetched at request time (cityos never fetches)": ("556_",),
    "Context source registrations and distributed operations (not part of this broker yet)": (
        "414_",
        "415_",
    ),
    "Contexts fetched from a remote URL or a context server: cityos never fetches contexts": (
        "050_01",
        "050_04",
        "051_03",
        "051_05",
        "051_09",
        "053_05",
        "053_06",
    ),
}
KNOWN_FAILURES: dict[str, tuple[str, ...]] = {
    "Implicitly created @contexts (kept from inline contexts): not implemented": (
        "050_03",
        "051_06",
        "051_07",
        "052_06",
        "053_07",
        "053_08",
    ),
    "Entities created with only the core context are shown with short names, where the "
    "suite expects the prefixed IRI ngsi-ld:default-context/...": ("001_05_02", "003_05_02"),
    "Type selector on single-entity operations (?type= on PATCH/DELETE) not implemented": (
        "562_",
        "563_",
        "564_",
        "565_",
        "566_",
    ),
}


def cases(path: str) -> Iterator[tuple[str, str, str, str, str]]:
    """(folder, test id, status, failure message, spec version) for every test."""
    root = ET.parse(path).getroot()

    def walk(suite: ET.Element, trail: list[str]) -> Iterator[tuple[str, str, str, str, str]]:
        for child in suite.findall("suite"):
            yield from walk(child, [*trail, child.get("name", "")])
        for test in suite.findall("test"):
            status = test.find("status")
            assert status is not None
            message = (status.text or "").strip().splitlines()
            tags = [t.text or "" for t in test.findall("tag")]
            version = "1.9" if any(t.startswith("since_v1.9") for t in tags) else "1.8"
            yield (
                "/".join(trail[1:3]),
                test.get("name", ""),
                status.get("status", ""),
                (message[0][:160] if message else ""),
                version,
            )

    yield from walk(root, [])


def reason(test: str, table: dict[str, tuple[str, ...]]) -> str | None:
    number = test.split(" ")[0]
    for why, prefixes in table.items():
        if any(number.startswith(p) for p in prefixes):
            return why
    return None


def main() -> None:
    all_cases = list(cases(sys.argv[1]))
    per_folder: dict[str, Counter[str]] = defaultdict(Counter)
    grouped: dict[str, list[str]] = defaultdict(list)
    open_failures: list[str] = []
    by_version: dict[str, Counter[str]] = defaultdict(Counter)
    for folder, test, status, message, version in all_cases:
        if status == "PASS":
            per_folder[folder]["passed"] += 1
            by_version[version]["passed"] += 1
            continue
        na = reason(test, NOT_APPLICABLE)
        known = reason(test, KNOWN_FAILURES)
        if na:
            per_folder[folder]["not applicable"] += 1
            grouped["N/A: " + na].append(test)
            continue
        per_folder[folder]["failed"] += 1
        by_version[version]["failed"] += 1
        if known:
            grouped["Fails: " + known].append(test)
        else:
            open_failures.append(f"- `{test}` (v{version}): {message}")
    totals: Counter[str] = sum(per_folder.values(), Counter())
    print("| area | passed | failed | not applicable |\n|---|---:|---:|---:|")
    for folder, count in sorted(per_folder.items()):
        print(f"| {folder} | {count['passed']} | {count['failed']} | {count['not applicable']} |")
    print(
        f"| **all** | **{totals['passed']}** | **{totals['failed']}** | "
        f"**{totals['not applicable']}** |\n"
    )
    applicable = totals["passed"] + totals["failed"]
    print(
        f"Applicable cases passed: {totals['passed']} of {applicable} "
        f"({100 * totals['passed'] / max(applicable, 1):.0f}%), of which:\n"
    )
    for version, label in (("1.8", "up to NGSI-LD 1.8.1"), ("1.9", "tagged since_v1.9.1")):
        count = by_version[version]
        seen = count["passed"] + count["failed"]
        share = 100 * count["passed"] / max(seen, 1)
        print(f"- cases {label}: {count['passed']} passed of {seen} applicable ({share:.0f}%)")
    print()
    for why, tests in sorted(grouped.items()):
        print(f"### {why} ({len(tests)})\n")
        print(", ".join(f"`{t.split(' ')[0]}`" for t in sorted(tests)) + "\n")
    print(f"### Other failures ({len(open_failures)}), with the suite's message\n")
    print("\n".join(sorted(open_failures)))


if __name__ == "__main__":
    main()
