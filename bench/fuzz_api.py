"""schemathesis over the whole API at a larger scale than the test suite's run.

    .venv/bin/python -m bench.fuzz_api [--max-examples 100] [--seed 1] [--phases ...]

Serves the app with uvicorn on a free loopback port (SQLite in a temporary directory,
seeded as in tests/api/fuzzing.py, notifications allowed to 127.0.0.0/8 only and no host
name resolved through DNS, so fuzzed subscriptions reach nothing beyond this machine), then
runs the schemathesis command line against its /openapi.json with every phase (explicit
examples, coverage of boundary values, fuzzing, stateful sequences following Location
headers) and the checks: no 5xx (504 LdContextNotAvailable, the standard's answer to an
@context URL this broker does not have, excepted: `no_server_error`), and every status,
content type and body as the document says. Prints schemathesis's report and exits with
its status. The command and the result of the last run are in docs/security.md.
"""

from __future__ import annotations

import argparse
import faulthandler
import os
import signal
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import uvicorn
from tests.api.fuzzing import FUZZ_SETTINGS, loopback_only, seed
from tests.serve import free_port

from cityos.api.app import create_app
from cityos.store.sqlite import SQLiteStore

CHECKS = (
    "no_server_error",
    "status_code_conformance",
    "content_type_conformance",
    "response_schema_conformance",
)
HOOKS = "tests.api.fuzzing"
"""Registers `no_server_error` in the schemathesis process."""
START_TIMEOUT_S = 30.0


def schemathesis_command(url: str, args: argparse.Namespace) -> list[str]:
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--no-color",
        "run",
        url,
        "--checks",
        ",".join(CHECKS),
        "--max-examples",
        str(args.max_examples),
        "--seed",
        str(args.seed),
        "--request-timeout",
        "5",
        "--workers",
        "1",
        "--generation-database",
        "none",
    ]
    if args.phases:
        command += ["--phases", args.phases]
    return command


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-examples", type=int, default=100)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--phases", default="", help="e.g. examples,coverage,fuzzing,stateful")
    args = parser.parse_args()

    # `kill -USR1 <pid>` prints every thread's stack: where a request hangs, if one does.
    faulthandler.register(signal.SIGUSR1, all_threads=True)
    port = free_port()
    with tempfile.TemporaryDirectory() as data, loopback_only():
        store = SQLiteStore(Path(data))
        app = create_app(store, FUZZ_SETTINGS)
        seed(app)
        config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="error")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, name="fuzzed-api", daemon=True)
        thread.start()
        deadline = time.monotonic() + START_TIMEOUT_S
        while not server.started:
            if time.monotonic() > deadline or not thread.is_alive():
                print("the server did not start", file=sys.stderr)
                return 1
            time.sleep(0.05)
        command = schemathesis_command(f"http://127.0.0.1:{port}/openapi.json", args)
        print("$", " ".join(command), flush=True)
        env = {**os.environ, "SCHEMATHESIS_HOOKS": HOOKS, "PYTHONPATH": os.getcwd()}
        started = time.monotonic()
        status = subprocess.run(command, env=env, check=False).returncode
        print(f"schemathesis exited {status} after {time.monotonic() - started:.0f} s")
        server.should_exit = True
        thread.join(timeout=START_TIMEOUT_S)
        store.close()
    return status


if __name__ == "__main__":
    sys.exit(main())
