"""One HTTP/1.1 request on a keep-alive connection, with no client library in the way:
load generators measure the server, not the client."""

from __future__ import annotations

import asyncio


async def exchange(
    reader: asyncio.StreamReader,
    writer: asyncio.StreamWriter,
    method: str,
    path: str,
    media_type: str,
    body: bytes,
    headers: str = "",
) -> int:
    """Send one request (`headers`: more header lines, each ending in CRLF), read the whole
    response; its status."""
    writer.write(
        f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: {media_type}\r\n"
        f"{headers}Content-Length: {len(body)}\r\n\r\n".encode()
        + body
    )
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":", 1)[1])
    if length:
        await reader.readexactly(length)
    return status
