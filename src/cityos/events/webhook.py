"""A lean HTTP/1.1 client for one job: POST a notification, read the status, keep the
connection for the next one.

Webhook delivery is the notifier's hot path (a thousand notifications a second is an
ordinary city). General-purpose async clients spend most of that time on machinery it does
not need (connection-pool bookkeeping that grows with concurrency, async-library probing on
every request); this client does only the exchange itself, over asyncio streams, with
keep-alive connections pooled per origin.
"""

from __future__ import annotations

import asyncio
import ssl
from dataclasses import dataclass, field
from urllib.parse import quote, urlsplit

MAX_HEAD_BYTES = 64 * 1024
MAX_BODY_BYTES = 1024 * 1024
"""A receiver's answer is read and dropped; a longer one costs its connection."""
MAX_IDLE_PER_ORIGIN = 32
_SAFE = "/%:@!$&'()*+,;=-._~"
"""What stays as it is in a request target; anything else is percent-encoded (RFC 3986)."""


class WebhookError(Exception):
    """The exchange failed: no connection, a broken or malformed answer, or a time-out."""


Origin = tuple[str, str, int, str]
"""(scheme, host, port, the address connected to)."""
_Connection = tuple[asyncio.StreamReader, asyncio.StreamWriter]


@dataclass(slots=True)
class WebhookClient:
    timeout_s: float = 10.0
    _idle: dict[Origin, list[_Connection]] = field(default_factory=dict)
    _tls: ssl.SSLContext | None = None

    async def post(
        self, url: str, body: bytes, headers: dict[str, str], address: str | None = None
    ) -> int:
        """POST `body` to `url`, connecting to `address` when given (the one the endpoint
        policy checked) rather than resolving the host again; the response's status."""
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise WebhookError(f"{parts.scheme}://{parts.hostname or ''} is not an http(s) URL")
        port = parts.port or (443 if parts.scheme == "https" else 80)
        origin = (parts.scheme, parts.hostname, port, address or parts.hostname)
        target = quote(parts.path or "/", safe=_SAFE) + (
            f"?{quote(parts.query, safe=_SAFE + '?')}" if parts.query else ""
        )
        host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
        lines = [f"POST {target} HTTP/1.1", f"Host: {host}:{port}"]
        lines += [f"{name}: {value}" for name, value in headers.items()]
        lines += [f"Content-Length: {len(body)}", "", ""]
        try:
            request = "\r\n".join(lines).encode("ascii") + body
        except UnicodeEncodeError:
            raise WebhookError("a header or the URL is not ASCII") from None
        try:
            return await asyncio.wait_for(self._exchange(origin, request), self.timeout_s)
        except TimeoutError:
            raise WebhookError(f"no answer within {self.timeout_s:g} s") from None

    async def _exchange(self, origin: Origin, request: bytes) -> int:
        idle = self._idle.setdefault(origin, [])
        while idle:  # a kept-alive connection the receiver may have closed meanwhile
            connection = idle.pop()
            try:
                return await self._send(origin, connection, request)
            except (OSError, asyncio.IncompleteReadError, WebhookError):
                connection[1].close()
        return await self._send(origin, await self._connect(origin), request)

    async def _connect(self, origin: Origin) -> _Connection:
        scheme, host, port, address = origin
        tls = None
        if scheme == "https":
            if self._tls is None:
                self._tls = ssl.create_default_context()
            tls = self._tls
        try:
            return await asyncio.open_connection(
                address,
                port,
                ssl=tls,
                server_hostname=host if tls else None,  # the certificate names the host
                limit=MAX_HEAD_BYTES,
            )
        except OSError as error:
            raise WebhookError(f"cannot connect to {host}:{port}: {error}") from None

    async def _send(self, origin: Origin, connection: _Connection, request: bytes) -> int:
        reader, writer = connection
        try:
            writer.write(request)
            await writer.drain()
            head = await reader.readuntil(b"\r\n\r\n")
            status, length, chunked, keep = _parse_head(head)
            if chunked:
                await _skip_chunks(reader)
            elif length is not None:
                if length > MAX_BODY_BYTES:
                    keep = False
                else:
                    await reader.readexactly(length)
            else:
                keep = False  # the body runs until the receiver closes: don't wait for it
        except asyncio.LimitOverrunError:
            writer.close()
            raise WebhookError("the receiver's answer has oversized headers") from None
        except (OSError, asyncio.IncompleteReadError) as error:
            writer.close()
            raise WebhookError(f"the connection broke: {error or type(error).__name__}") from None
        idle = self._idle.setdefault(origin, [])
        if keep and len(idle) < MAX_IDLE_PER_ORIGIN:
            idle.append(connection)
        else:
            writer.close()
        return status

    async def close(self) -> None:
        for connections in self._idle.values():
            for _, writer in connections:
                writer.close()
        self._idle.clear()


def _parse_head(head: bytes) -> tuple[int, int | None, bool, bool]:
    """(status, Content-Length, chunked, keep-alive) of a response head."""
    lines = head.decode("latin-1").split("\r\n")
    version, _, rest = lines[0].partition(" ")
    code = rest[:3]
    if not version.startswith("HTTP/1.") or not code.isdigit():
        raise WebhookError(f"not an HTTP/1.x answer: {lines[0][:80]!r}")
    length: int | None = None
    chunked = False
    keep = version == "HTTP/1.1"
    for line in lines[1:]:
        name, _, value = line.partition(":")
        name, value = name.strip().lower(), value.strip().lower()
        if name == "content-length" and value.isdigit():
            length = int(value)
        elif name == "transfer-encoding":
            chunked = "chunked" in value
        elif name == "connection":
            keep = "keep-alive" in value if version == "HTTP/1.0" else "close" not in value
    return int(code), length, chunked, keep


async def _skip_chunks(reader: asyncio.StreamReader) -> None:
    total = 0
    while True:
        size_line = await reader.readuntil(b"\r\n")
        try:
            size = int(size_line.split(b";")[0].strip(), 16)
        except ValueError:
            raise WebhookError("a malformed chunked answer") from None
        total += size
        if total > MAX_BODY_BYTES:
            raise WebhookError("the receiver's answer is too long")
        if size == 0:
            while await reader.readuntil(b"\r\n") != b"\r\n":  # trailers
                pass
            return
        await reader.readexactly(size + 2)
