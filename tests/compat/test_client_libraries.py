"""Existing NGSI-LD client libraries from PyPI work against cityos unchanged.

Each library lives in its own virtual environment (`make client-venv` builds
.venv-clients), since their pins clash with cityos's own; the test serves cityos on a free
loopback port and runs a scripted session of the library against it.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.serve import served

ROOT = Path(__file__).resolve().parents[2]
CLIENT_PYTHON = ROOT / ".venv-clients" / "bin" / "python"


def test_ngsildclient_session(tmp_path: Path) -> None:
    if not CLIENT_PYTHON.exists():
        if os.environ.get("CI") == "true":
            pytest.fail(".venv-clients is missing: `make test` builds it")
        pytest.skip("no .venv-clients with ngsildclient (run `make client-venv`)")
    with served(tmp_path) as port:
        result = subprocess.run(
            [
                str(CLIENT_PYTHON),
                str(Path(__file__).with_name("ngsildclient_session.py")),
                str(port),
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip().endswith("ok")
