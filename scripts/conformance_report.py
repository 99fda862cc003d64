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
    "Endpoints of the next issue (subscriptions, temporal API, context sources)": (
        "043_01_02",
        "043_01_03",
        "043_01_05",
        "044_02",
        "045_01_02",
        "045_01_03",
        "045_01_04",
        "048_01_02",
        "048_01_04",
        "048_01_06",
        "049_01_02",
        "049_01_03",
        "049_01_04",
        "049_01_05",
        "049_02",
        "059_01_03",
        "059_01_04",
        "059_01_06",
        "059_01_07",
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
    "Implicitly created @contexts (kept from inline contexts): not implemented": (
        "050_03",
        "051_06",
        "051_07",
        "052_06",
        "053_07",
        "053_08",
    ),
    "Beyond NGSI-LD 1.8 (drafts carried by this suite fork: orderBy, collation, entity maps, "
    "proofs, linked-entity subqueries)": (
        "019_19",
        "019_22",
        "019_23",
        "4233_",
        "423_",
        "5243_",
        "5233_",
        "452_",
        "453_",
        "4524_",
        "019_29",
        "019_32",
        "019_33",
        "5722_",
        "5711_",
        "5714_",
        "577_",
        "6311_",
        "5132_",
        "5134_",
        "5135_",
        "5710_",
        "436_",
        "454",
        "4517",
        "421_",
        "019_26",
        "019_27",
    ),
}
KNOWN_FAILURES: dict[str, tuple[str, ...]] = {
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


def cases(path: str) -> Iterator[tuple[str, str, str, str]]:
    """(folder, test id, status, first line of the failure message) for every test."""
    root = ET.parse(path).getroot()

    def walk(suite: ET.Element, trail: list[str]) -> Iterator[tuple[str, str, str, str]]:
        for child in suite.findall("suite"):
            yield from walk(child, [*trail, child.get("name", "")])
        for test in suite.findall("test"):
            status = test.find("status")
            assert status is not None
            message = (status.text or "").strip().splitlines()
            yield (
                "/".join(trail[1:3]),
                test.get("name", ""),
                status.get("status", ""),
                (message[0][:160] if message else ""),
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
    for folder, test, status, message in all_cases:
        if status == "PASS":
            per_folder[folder]["passed"] += 1
            continue
        na = reason(test, NOT_APPLICABLE)
        known = reason(test, KNOWN_FAILURES)
        if na:
            per_folder[folder]["not applicable"] += 1
            grouped["N/A: " + na].append(test)
        elif known:
            per_folder[folder]["failed"] += 1
            grouped["Fails: " + known].append(test)
        else:
            per_folder[folder]["failed"] += 1
            open_failures.append(f"- `{test}`: {message}")
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
        f"({100 * totals['passed'] / max(applicable, 1):.0f}%).\n"
    )
    for why, tests in sorted(grouped.items()):
        print(f"### {why} ({len(tests)})\n")
        print(", ".join(f"`{t.split(' ')[0]}`" for t in sorted(tests)) + "\n")
    print(f"### Other failures ({len(open_failures)}), with the suite's message\n")
    print("\n".join(sorted(open_failures)))


if __name__ == "__main__":
    main()
