"""`cityos serve` configured by CITYOS_* environment variables, as systemd, Docker and
Kubernetes configure it (docs/deployment.md)."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import typer
from typer.core import TyperCommand, TyperGroup, TyperOption
from typer.testing import CliRunner

from cityos import cli
from cityos.store.sqlite import SQLiteStore
from tests.serve import free_port, wait_until_up
from tests.stores import StoreFactory

WIDE = {"COLUMNS": "250", "TERMINAL_WIDTH": "250"}


def environment(**variables: str) -> dict[str, str | None]:
    """For CliRunner: `variables`, with any other CITYOS_* of the caller's shell unset.

    Text logs: with json, `serve` would move the CLI's console to CliRunner's stderr, which
    is closed once the invocation returns, and later tests would print into it.
    """
    unset: dict[str, str | None] = {k: None for k in os.environ if k.startswith("CITYOS_")}
    return {**unset, "CITYOS_LOG_FORMAT": "text", **variables}


@pytest.fixture(autouse=True)
def own_logging() -> Iterator[None]:
    """`serve` puts its log handler on the root logger, writing to CliRunner's stdout: take
    it off again, so that later tests do not log into a closed stream."""
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


def commands() -> dict[str, TyperCommand]:
    """Every command of the CLI by its path ("serve", "import gtfs"…)."""
    found: dict[str, TyperCommand] = {}

    def walk(command: object, path: str) -> None:
        if isinstance(command, TyperGroup):
            for name, sub in command.commands.items():
                walk(sub, f"{path} {name}".strip())
        elif isinstance(command, TyperCommand):
            found[path] = command

    walk(typer.main.get_command(cli.app), "")
    return found


def envvar_of(option: TyperOption) -> str:
    """The variable an option must read: CITYOS_ and its long name (--open311-keys →
    CITYOS_OPEN311_KEYS)."""
    longest = max(option.opts, key=len)
    return "CITYOS_" + longest.lstrip("-").upper().replace("-", "_")


def serve_options() -> list[TyperOption]:
    return [
        p for p in commands()["serve"].params if isinstance(p, TyperOption) and p.name != "help"
    ]


def serve_variables() -> dict[str, str]:
    """The environment variables `cityos serve` reads, each with its option's flag (the docs
    and deploy files are held to them)."""
    return {envvar_of(option): max(option.opts, key=len) for option in serve_options()}


def test_every_serve_option_reads_its_environment_variable() -> None:
    options = serve_options()
    assert len(options) >= 15
    missing = {o.name: o.envvar for o in options if o.envvar != envvar_of(o)}
    assert missing == {}, "every serve option needs envvar=CITYOS_<OPTION> (docs/deployment.md)"


def test_other_commands_use_the_same_names_and_the_demo_keeps_its_own_data() -> None:
    for path, command in commands().items():
        for param in command.params:
            if isinstance(param, TyperOption) and param.envvar:
                assert param.envvar == envvar_of(param), (path, param.name)
    gtfs = {p.name: p for p in commands()["import gtfs"].params}
    assert gtfs["data"].envvar == "CITYOS_DATA"
    demo = {p.name: p for p in commands()["demo"].params}
    assert demo["data"].envvar is None  # a demo must not load its sample into a real city
    assert demo["port"].envvar == "CITYOS_PORT"


def test_help_names_each_variable_and_never_the_secret_in_it() -> None:
    secret = environment(CITYOS_STORE="postgresql://cityos:s3cret-pw@db:5432/cityos", **WIDE)
    result = CliRunner().invoke(cli.app, ["serve", "--help"], env=secret)
    assert result.exit_code == 0
    for name in serve_variables():
        assert f"env var: {name}" in result.output
    assert "s3cret-pw" not in result.output


@pytest.fixture
def served_with(monkeypatch: pytest.MonkeyPatch) -> dict[str, Any]:
    """What `serve` would run uvicorn with, captured instead of serving."""
    seen: dict[str, Any] = {}

    def capture(store: Any, host: str, port: int, settings: Any = None, *args: Any) -> None:
        seen.update(store=store, host=host, port=port, settings=settings, args=args)
        store.close()

    monkeypatch.setattr(cli, "_serve", capture)
    return seen


def test_the_environment_configures_serve(served_with: dict[str, Any], tmp_path: Path) -> None:
    env = environment(
        CITYOS_DATA=str(tmp_path / "city"),
        CITYOS_HOST="0.0.0.0",
        CITYOS_PORT="8026",
        CITYOS_NOTIFY_DENY="10.0.0.0/8  192.168.0.0/16",
        CITYOS_EVENTS="local",
        CITYOS_MQTT="",  # empty counts as unset
    )
    result = CliRunner().invoke(cli.app, ["serve"], env=env)
    assert result.exit_code == 0, result.output
    assert (served_with["host"], served_with["port"]) == ("0.0.0.0", 8026)
    assert isinstance(served_with["store"], SQLiteStore)
    assert (tmp_path / "city" / "cityos.db").exists()
    denied = {str(network) for network in served_with["settings"].notify_policy.deny}
    assert {"10.0.0.0/8", "192.168.0.0/16"} <= denied
    assert served_with["args"][0] is None  # no MQTT gateway


def test_a_flag_beats_the_environment(served_with: dict[str, Any], tmp_path: Path) -> None:
    env = environment(CITYOS_DATA=str(tmp_path / "env"), CITYOS_PORT="8026")
    args = ["serve", "--data", str(tmp_path / "flag"), "--port", "8027"]
    result = CliRunner().invoke(cli.app, args, env=env)
    assert result.exit_code == 0, result.output
    assert served_with["port"] == 8027
    assert (tmp_path / "flag" / "cityos.db").exists()
    assert not (tmp_path / "env").exists()


@pytest.mark.parametrize(
    ("name", "value", "says"),
    [
        ("CITYOS_PORT", "http", "CITYOS_PORT"),
        ("CITYOS_SYNCHRONOUS", "sometimes", "CITYOS_SYNCHRONOUS"),
        ("CITYOS_EVENTS", "kafka://bus:9092", "Unknown events bus"),
        ("CITYOS_STORE", "mysql://cityos:s3cret-pw@db/cityos", "postgresql://"),
        ("CITYOS_NOTIFY_ALLOW", "10.0.0.0/8 intranet", "Not a network"),
    ],
)
def test_a_bad_value_in_the_environment_is_refused(
    served_with: dict[str, Any], tmp_path: Path, name: str, value: str, says: str
) -> None:
    env = environment(CITYOS_DATA=str(tmp_path / "city"), **{name: value}, **WIDE)
    result = CliRunner().invoke(cli.app, ["serve"], env=env)
    assert result.exit_code == 2
    assert says in result.output
    assert "s3cret-pw" not in result.output
    assert served_with == {}


def test_serve_started_by_environment_variables_only(
    store_factory: StoreFactory, tmp_path: Path
) -> None:
    """A real server, no flags: the store it writes to is the one the environment names."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CITYOS_")}
    env.update(
        CITYOS_PORT=str(port), CITYOS_HOST="127.0.0.1", CITYOS_EVENTS="local", CITYOS_AUTH="off"
    )
    if store_factory.backend == "postgresql":
        env["CITYOS_STORE"] = store_factory.url()
        env["CITYOS_DATA"] = str(tmp_path / "unused")
    else:
        env["CITYOS_DATA"] = str(tmp_path / "data")  # where store_factory() opens
    command = [sys.executable, "-m", "cityos.cli", "serve"]
    process = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL)
    try:
        wait_until_up(process, port, "/version")
        entity = {"id": "urn:ngsi-ld:Sensor:env", "type": "Sensor", "level": {"value": 3}}
        response = httpx.post(f"http://127.0.0.1:{port}/ngsi-ld/v1/entities", json=entity)
        assert response.status_code == 201, response.text
    finally:
        process.terminate()
        process.wait(timeout=10)
    stored = store_factory().get("", "urn:ngsi-ld:Sensor:env")
    assert stored is not None
    assert not (tmp_path / "unused").exists()
