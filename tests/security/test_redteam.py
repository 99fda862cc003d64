"""The red team in the suite: every probe class against a real `cityos serve --auth required`,
and not one leak. `python -m bench.redteam` prints the same run as a table."""

from __future__ import annotations

from bench.redteam.__main__ import areas, run
from bench.redteam.target import serve

# Every probe class of the security review (issue 16) has its module; a lost module would
# silently shrink the run, so the list is checked too.
EXPECTED_AREAS = {"authn", "cases", "citizens", "loop", "misc", "notify", "tenancy", "xss"}


def test_every_probe_is_refused() -> None:
    found = areas()
    assert set(found) >= EXPECTED_AREAS, f"probe modules missing: {EXPECTED_AREAS - set(found)}"
    leaks: list[str] = []
    sent = 0
    with serve() as target:
        for area, probes in found.items():
            assert probes, f"{area} has no probes"
            for probe in probes:
                sent += 1
                verdict = run(target, probe)
                if verdict.leaked:
                    leaks.append(f"{area}: {probe.name}: {verdict.detail}")
    assert sent >= len(found)
    assert not leaks, "\n".join(leaks)
