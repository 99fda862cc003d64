"""E-mail to followers through a real SMTP server, from the store's durable outbox.

`desk.state_changed` queues one message per follower in the store (it outlives a restart);
this loop claims the due ones, sends them over one SMTP session, and reschedules failures
with the notifier's exponential back-off (`RetryPolicy`), giving up after `MAX_ATTEMPTS`.
smtplib blocks, so sending runs on a worker thread, never on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import smtplib
import ssl
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from urllib.parse import parse_qs, unquote, urlsplit

from cityos.events.notifier import RetryPolicy
from cityos.store.citizens import CitizenStore, Mail

log = logging.getLogger("cityos.citizens.mail")
MAX_ATTEMPTS = 15
"""With the default back-off (1 s doubling to 5 min) about an hour of trying."""
LEASE = timedelta(minutes=2)
GAVE_UP = datetime(9999, 1, 1, tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SmtpSettings:
    """Where mail goes: `smtp://[user:password@]host[:port][?starttls=required|no]` (STARTTLS
    when the server offers it, unless `no`) or `smtps://…` (TLS from the first byte)."""

    host: str
    port: int
    mail_from: str
    implicit_tls: bool = False
    starttls: str = "auto"
    user: str | None = None
    password: str | None = None
    timeout_s: float = 10.0
    tls: ssl.SSLContext | None = None

    @classmethod
    def parse(cls, url: str, mail_from: str) -> SmtpSettings:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise ValueError(f"{url!r} is not smtp://host:port or smtps://host:port")
        starttls = parse_qs(parts.query).get("starttls", ["auto"])[0]
        if starttls not in ("auto", "required", "no"):
            raise ValueError("starttls must be auto, required or no")
        if "@" not in mail_from:
            raise ValueError(f"--mail-from {mail_from!r} is not an e-mail address")
        implicit = parts.scheme == "smtps"
        return cls(
            host=parts.hostname,
            port=parts.port or (465 if implicit else 25),
            mail_from=mail_from,
            implicit_tls=implicit,
            starttls=starttls,
            user=unquote(parts.username) if parts.username else None,
            password=unquote(parts.password) if parts.password else None,
        )

    def connect(self) -> smtplib.SMTP:
        context = self.tls or ssl.create_default_context()
        client: smtplib.SMTP
        if self.implicit_tls:
            client = smtplib.SMTP_SSL(self.host, self.port, timeout=self.timeout_s, context=context)
        else:
            client = smtplib.SMTP(self.host, self.port, timeout=self.timeout_s)
            client.ehlo()
            if self.starttls != "no" and client.has_extn("starttls"):
                client.starttls(context=context)
                client.ehlo()
            elif self.starttls == "required":
                client.quit()
                raise smtplib.SMTPException(f"{self.host} offers no STARTTLS")
        if self.user is not None:
            client.login(self.user, self.password or "")
        return client


class Mailer:
    """Sends the outbox's due mail; `kick()` after queueing wakes it at once."""

    def __init__(
        self,
        store: CitizenStore,
        smtp: SmtpSettings,
        retry: RetryPolicy | None = None,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
        tick_s: float = 1.0,
    ) -> None:
        self.store, self.smtp = store, smtp
        self.retry = retry or RetryPolicy()
        self.clock, self.tick_s = clock, tick_s
        self.sent = 0
        self._wake: asyncio.Event | None = None
        self._loop: asyncio.AbstractEventLoop | None = None

    def kick(self) -> None:
        """Callable from any thread."""
        if self._loop is not None and self._wake is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def send_due(self, batch: int = 50) -> int:
        """Send what is due now over one SMTP session; the number sent."""
        now = self.clock()
        due = self.store.due_mail(now, now + LEASE, batch)
        if not due:
            return 0
        sent = 0
        try:
            client = self.smtp.connect()
        except (OSError, smtplib.SMTPException) as error:
            for mail in due:
                self._failed(mail, error)
            return 0
        try:
            for mail in due:
                try:
                    client.send_message(self._message(mail))
                except (OSError, smtplib.SMTPException) as error:
                    self._failed(mail, error)
                    if isinstance(error, OSError | smtplib.SMTPServerDisconnected):
                        for rest in due[due.index(mail) + 1 :]:
                            self._failed(rest, error)
                        break
                    continue
                self.store.mail_sent(mail.id, self.clock())
                sent += 1
        finally:
            with contextlib.suppress(OSError, smtplib.SMTPException):
                client.quit()
        self.sent += sent
        return sent

    def _message(self, mail: Mail) -> EmailMessage:
        message = EmailMessage()
        message["From"] = self.smtp.mail_from
        message["To"] = mail.to
        message["Subject"] = mail.subject
        message["Date"] = formatdate(localtime=False)
        message["Message-ID"] = make_msgid(domain=self.smtp.mail_from.rsplit("@", 1)[1])
        message["Auto-Submitted"] = "auto-generated"
        message.set_content(mail.body)
        return message

    def _failed(self, mail: Mail, error: Exception) -> None:
        attempts = mail.attempts + 1
        delay = timedelta(seconds=self.retry.delay(attempts))
        later = GAVE_UP if attempts >= MAX_ATTEMPTS else self.clock() + delay
        log.warning("e-mail %s to follower of %s failed: %s", mail.id, mail.case_id, error)
        self.store.mail_failed(replace(mail, attempts=attempts, next_at=later, error=str(error)))

    @asynccontextmanager
    async def running(self) -> AsyncIterator[Mailer]:
        self._loop = asyncio.get_running_loop()
        self._wake = asyncio.Event()
        task = asyncio.create_task(self._run(), name="citizen-mailer")
        try:
            yield self
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task

    async def _run(self) -> None:
        assert self._wake is not None
        while True:
            try:
                while await asyncio.to_thread(self.send_due) > 0:
                    pass
            except Exception:
                log.exception("the citizen mailer failed; trying again")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.tick_s)
            self._wake.clear()
