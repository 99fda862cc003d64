"""Followers hear of state changes through a real SMTP server (aiosmtpd, in-process, on
loopback), and mail waits in the store while the server is down (both stores)."""

from __future__ import annotations

import email
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from email.message import Message
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from starlette.testclient import TestClient

from cityos.citizens.mailer import Mailer, SmtpSettings
from cityos.store.base import Store
from tests.citizens.helpers import API, EMAIL, OPERATOR, app_client, report


class Inbox:
    """An aiosmtpd handler keeping every message it is given."""

    def __init__(self) -> None:
        self.messages: list[Message] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append(email.message_from_bytes(envelope.content))
        return "250 OK"

    def wait_for(self, count: int, seconds: float = 15.0) -> list[Message]:
        deadline = time.monotonic() + seconds
        while len(self.messages) < count and time.monotonic() < deadline:
            time.sleep(0.05)
        return self.messages


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@pytest.fixture
def smtp_port() -> int:
    return free_port()


def serving(inbox: Inbox, port: int) -> Controller:
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    return controller


@pytest.fixture
def inbox(smtp_port: int) -> Iterator[Inbox]:
    found = Inbox()
    controller = serving(found, smtp_port)
    yield found
    controller.stop()


def mail_client(store: Store, tmp_path: Path, port: int) -> TestClient:
    smtp = SmtpSettings.parse(f"smtp://127.0.0.1:{port}", "reports@chongqing.example")
    return app_client(
        store, media_dir=tmp_path / "media", smtp=smtp, public_url="https://report.example"
    )


def body_of(message: Message) -> str:
    payload = message.get_payload(decode=True)
    assert isinstance(payload, bytes)
    return payload.decode("utf-8")


def test_a_follower_hears_of_each_state_change(
    store: Store, tmp_path: Path, inbox: Inbox, smtp_port: int
) -> None:
    with mail_client(store, tmp_path, smtp_port) as client:
        filed = report(client, email=EMAIL, headers={"Accept-Language": "pl"}).json()
        reference = filed["reference"]
        client.post(f"{API}/reports/{reference}/support", data={"email": "li.na@example.cn"})
        accepted = client.post(f"/governance/cases/{filed['id']}/accept", headers=OPERATOR)
        assert accepted.status_code == 200
        messages = inbox.wait_for(2)
    assert sorted(m["To"] for m in messages) == ["li.na@example.cn", EMAIL]
    polish = next(m for m in messages if m["To"] == EMAIL)
    assert reference in str(polish["Subject"]) and "przyjęte" in body_of(polish)
    text = body_of(polish)
    assert f"https://report.example/report/{reference}" in text
    assert "https://report.example/unsubscribe/" in text
    assert polish["From"] == "reports@chongqing.example"


def test_unsubscribe_stops_the_mail(
    store: Store, tmp_path: Path, inbox: Inbox, smtp_port: int
) -> None:
    with mail_client(store, tmp_path, smtp_port) as client:
        filed = report(client, email=EMAIL).json()
        client.post(f"/governance/cases/{filed['id']}/accept", headers=OPERATOR)
        first = inbox.wait_for(1)[0]
        link = next(w for w in body_of(first).split() if "/unsubscribe/" in w)
        left = client.get(link.replace("https://report.example", ""))
        assert left.status_code == 200 and filed["reference"] in left.text
        client.post(f"/governance/cases/{filed['id']}/dispatch", headers=OPERATOR)
        assert client.app.state.mailer.send_due() == 0  # type: ignore[attr-defined]
    assert len(inbox.messages) == 1


def test_mail_waits_in_the_store_while_the_server_is_down(
    store: Store, tmp_path: Path, smtp_port: int
) -> None:
    with mail_client(store, tmp_path, smtp_port) as client:
        mailer: Mailer = client.app.state.mailer  # type: ignore[attr-defined]
        filed = report(client, email=EMAIL).json()
        client.post(f"/governance/cases/{filed['id']}/accept", headers=OPERATOR)
        assert mailer.send_due() == 0  # nobody listens on the port
        assert store.citizens.pending_mail() == 1
    inbox = Inbox()
    controller = serving(inbox, smtp_port)
    try:
        later = Mailer(
            store.citizens,
            SmtpSettings.parse(f"smtp://127.0.0.1:{smtp_port}", "reports@chongqing.example"),
            clock=lambda: datetime.now(UTC) + timedelta(minutes=10),
        )
        assert later.send_due() == 1  # after the back-off, from the store: a restart loses none
    finally:
        controller.stop()
    assert len(inbox.messages) == 1 and filed["reference"] in str(inbox.messages[0]["Subject"])
    assert store.citizens.pending_mail() == 0
