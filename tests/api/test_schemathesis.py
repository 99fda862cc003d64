"""schemathesis against the in-process app over every operation of the OpenAPI document:
no 5xx, and every answer's status, content type and body as the document says.

Each operation gets up to MAX_EXAMPLES generated requests (valid and invalid ones),
derandomized so CI sees the same run every time; the app runs on SQLite in a temporary
directory, seeded by tests/api/fuzzing.py. A larger run against a real server:
`.venv/bin/python -m bench.fuzz_api` (see docs/security.md, "Fuzzing the API").
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.python import asgi
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)
from starlette.applications import Starlette

from cityos.api.app import create_app
from cityos.api.openapi import openapi_document
from cityos.store.sqlite import SQLiteStore
from tests.api.fuzzing import FUZZ_SETTINGS, loopback_only, no_server_error, seed

MAX_EXAMPLES = 25
CHECKS = [
    no_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
REQUEST_TIMEOUT_S = 5.0
"""An event stream answers until the client leaves: it is cut here, with what it sent."""

# Generation from the document alone: schemathesis would also draw literals from the app's
# source, so that any change of the code changed what this derandomized run sends. Its
# coverage phase (boundary values of every parameter: ~1000 requests for some operations)
# is left to the larger run of bench/fuzz_api.py, to keep this one near a minute. Update
# Attributes and the batch create and merge get valid requests only: schemathesis 4.32
# stops on the invalid variant it draws of those bodies ("a `not` whose complement is not
# spelled out", a limit of its own; which operations hit it varied between a warm and a
# fresh environment); the same bodies are fuzzed with invalid variants through append,
# replace, batch upsert and update, and by bench/fuzz_api.py.
POSITIVE_ONLY = ("updateAttrs", "batchCreate", "batchMerge")
CONFIG = schemathesis.Config.from_dict(
    {
        "analysis": {"constants": {"enabled": False}},
        "phases": {"coverage": {"enabled": False}},
        "operations": [
            {"include-operation-id": operation, "generation": {"mode": "positive"}}
            for operation in POSITIVE_ONLY
        ],
    }
)
schema = schemathesis.openapi.from_dict(openapi_document(FUZZ_SETTINGS), config=CONFIG)


@pytest.fixture(scope="module")
def fuzzed_app(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Starlette]:
    with loopback_only():
        store = SQLiteStore(tmp_path_factory.mktemp("fuzz"))
        app = create_app(store, FUZZ_SETTINGS)
        seed(app)
        yield app
        asgi.shutdown_lifespans()  # the transport started the app's background services
        store.close()


@schema.parametrize()
@settings(
    max_examples=MAX_EXAMPLES,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_documented(case: schemathesis.Case, fuzzed_app: Starlette) -> None:
    case.call_and_validate(app=fuzzed_app, checks=CHECKS, timeout=REQUEST_TIMEOUT_S)
