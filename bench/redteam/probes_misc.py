"""The smaller findings (issue 16, item 9): 404 texts that tell hidden from absent, attrs that
broke queries, the Host header in handed-out URLs, slow clients, idle live streams."""

from __future__ import annotations

import contextlib
import socket
import time

from bench.redteam.target import Probe, Target, Verdict, refused

ENTITIES = "/ngsi-ld/v1/entities"
SUBS = "/ngsi-ld/v1/subscriptions"
EVIL = "evil.example"
SLOW_FOR_S = 20.0
"""How long the slow client keeps sending its head (the default deadline is 10 s)."""
STREAMS = 101
"""One more than the default --max-streams."""


def hidden_or_absent(target: Target) -> Verdict:
    hidden = {"id": "urn:ngsi-ld:Building:redteam-hidden", "type": "Building"}
    target.request("POST", ENTITIES, as_="admin", json=hidden)
    seen = target.request("GET", f"{ENTITIES}/{hidden['id']}", as_="public_read")
    absent = target.request(
        "GET", f"{ENTITIES}/urn:ngsi-ld:Building:redteam-absent", as_="public_read"
    )
    same = seen.status_code == absent.status_code and seen.json().get("detail", "").replace(
        "hidden", "X"
    ) == absent.json().get("detail", "").replace("absent", "X")
    return refused(
        same, f"hidden {seen.status_code} {seen.text[-60:]!r} / absent {absent.status_code}"
    )


def _attrs(target: Target, value: str) -> int:
    params = {"type": "Building", "attrs": value}
    return target.request("GET", ENTITIES, as_="operator", params=params).status_code


def thousand_attrs(target: Target) -> Verdict:
    status = _attrs(target, ",".join(f"a{n}" for n in range(1000)))
    return refused(status == 400, f"attrs with 1000 names: {status}")


def nul_in_attrs(target: Target) -> Verdict:
    status = _attrs(target, "a\x00b")
    return refused(status == 400, f"attrs with a NUL: {status}")


def host_in_context_url(target: Target) -> Verdict:
    made = target.request(
        "POST",
        "/ngsi-ld/v1/jsonldContexts",
        as_="admin",
        headers={"Host": EVIL},
        json={"@context": {"Redteam": "urn:redteam"}},
    )
    location = made.headers.get("Location")
    if location is None:
        return refused(False, f"the @context was not stored: {made.status_code}")
    kept = target.request("GET", location, as_="admin", params={"details": "true"}).text
    return refused(EVIL not in kept, f"stored @context URL: {kept[:120]!r}")


def host_in_open311(target: Target) -> Verdict:
    found = target.request("GET", "/open311/v2/discovery.json", headers={"Host": EVIL}).text
    return refused(EVIL not in found, f"Open311 discovery names {EVIL}: {EVIL in found}")


def slow_headers(target: Target) -> Verdict:
    """A head sent a byte every 0.1 s, for longer than the server should wait for it."""
    head = b"GET /version HTTP/1.1\r\nHost: x\r\nX-Slow: " + b"a" * 1000
    started = time.monotonic()
    closed = False
    with socket.create_connection(("127.0.0.1", target.port)) as slow:
        slow.settimeout(0.1)  # each look for the server's close waits this long
        for byte in head:
            if time.monotonic() - started > SLOW_FOR_S:
                break
            try:
                slow.sendall(bytes([byte]))
                closed = slow.recv(1) == b""  # the server closed (it answers nothing)
            except TimeoutError:
                continue  # still open, nothing said
            except OSError:
                closed = True
            if closed:
                break
    waited = time.monotonic() - started
    return refused(
        closed, f"{'disconnected' if closed else 'still connected'} after {waited:.1f} s"
    )


def idle_streams(target: Target) -> Verdict:
    body = {
        "type": "Subscription",
        "entities": [{"type": "RedteamNeverWritten"}],
        "notification": {"endpoint": {"uri": "urn:cityos:stream"}},
    }
    made = target.request("POST", SUBS, as_="operator", json=body)
    location = made.headers.get("Location")
    if location is None:
        return refused(False, f"no stream subscription: {made.status_code}")
    request = (
        f"GET {location}/stream HTTP/1.1\r\nHost: x\r\n"
        f"Authorization: Bearer {target.keys['operator']}\r\n\r\n"
    ).encode()
    opened: list[socket.socket] = []
    statuses: list[bytes] = []
    try:
        for _ in range(STREAMS + 1):
            conn = socket.create_connection(("127.0.0.1", target.port))
            conn.settimeout(10)
            opened.append(conn)
            conn.sendall(request)
            statuses.append(conn.recv(12)[9:12])
    finally:
        for conn in opened:
            with contextlib.suppress(OSError):
                conn.close()
        target.request("DELETE", location, as_="admin")
    served = statuses.count(b"200")
    return refused(b"503" in statuses, f"{served} of {len(statuses)} idle streams served")


PROBES = [
    Probe("404 of a hidden entity vs an absent one", hidden_or_absent),
    Probe("attrs with 1000 names", thousand_attrs),
    Probe("attrs with a NUL", nul_in_attrs),
    Probe("Host header in a stored @context URL", host_in_context_url),
    Probe("Host header in Open311 discovery", host_in_open311),
    Probe("slow client sending its head byte by byte", slow_headers),
    Probe("more idle live streams than the cap", idle_streams),
]
