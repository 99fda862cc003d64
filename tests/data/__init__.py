"""Real data files for the tests: the small feeds kept here, and what cityos ships."""

from __future__ import annotations

from pathlib import Path

from cityos.sim.runner import PACKAGED_DATA

TEST_DATA = Path(__file__).resolve().parent


def real_file(name: str) -> Path:
    """A real data file by name: kept with the tests, or shipped with the simulator."""
    for folder in (TEST_DATA, PACKAGED_DATA):
        if (folder / name).is_file():
            return folder / name
    raise FileNotFoundError(f"{name} is neither in {TEST_DATA} nor in {PACKAGED_DATA}")
