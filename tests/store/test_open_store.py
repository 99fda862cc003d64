"""`open_store` opens either backend, and `cityos serve --store` refuses what it cannot open."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from cityos.cli import app
from cityos.store import open_store
from cityos.store.postgres import PostgresStore
from cityos.store.sqlite import SQLiteStore
from tests.stores import StoreFactory


def test_a_directory_opens_the_embedded_store(tmp_path: Path) -> None:
    store = open_store(tmp_path / "data", synchronous="OFF")
    assert isinstance(store, SQLiteStore)
    store.close()


def test_a_url_opens_postgresql(tmp_path: Path) -> None:
    factory = StoreFactory("postgresql", tmp_path)
    try:  # the schema through the URL, as a deployment could give it
        store = open_store(factory.url("url"))
        assert isinstance(store, PostgresStore)
        assert store.schema == factory.schema("url")
        store.close()
        # without public on the search_path PostGIS is out of reach: said at once
        without_postgis = factory.url("url").removesuffix(",public")
        with pytest.raises(ValueError, match="PostGIS is not on the connection's search_path"):
            open_store(without_postgis)
    finally:
        factory.close()


def test_serve_refuses_a_store_it_cannot_open(tmp_path: Path) -> None:
    not_a_url = CliRunner().invoke(
        app, ["serve", "--data", str(tmp_path), "--store", "mysql://x"], env={"COLUMNS": "300"}
    )
    assert not_a_url.exit_code == 2
    assert "postgresql:// URL" in not_a_url.output
    nobody = "postgresql://nobody:secret@127.0.0.1:1/none?connect_timeout=1"
    refused = CliRunner().invoke(app, ["serve", "--store", nobody], env={"COLUMNS": "300"})
    assert refused.exit_code == 2
    assert "cannot open postgresql://nobody:***@127.0.0.1:1/none" in refused.output
    assert "secret" not in refused.output
