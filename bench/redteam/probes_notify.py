"""Notification targets (issue 16, item 8): subscriptions that would make the broker call the
local network, carry credentials an admin did not set, or show an endpoint's password back.

No probe sends traffic anywhere: a subscription here must be refused when it is made, and one
that is accepted is deleted at once. Its entity type is one no probe writes, so nothing is
ever notified to it meanwhile; the endpoints with passwords name hosts under .invalid, which
never resolve.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from bench.redteam.target import Probe, Target, Verdict, refused

SUBS = "/ngsi-ld/v1/subscriptions"
NEVER_WRITTEN = "RedteamNeverWritten"

LOCAL = [
    "http://127.0.0.1/x",
    "http://10.0.0.1/x",
    "http://172.16.0.1/x",
    "http://192.168.1.1/x",
    "http://[fc00::1]/x",
    "http://100.64.0.1/x",
    "http://[::ffff:127.0.0.1]/x",
    "http://[2002:7f00:1::1]/x",  # 6to4 of 127.0.0.1
    "http://localhost/x",
    "http://2130706433/x",  # 127.0.0.1 as a decimal number
    "http://0177.0.0.1/x",  # and in octal
]


def _subscription(uri: str, **endpoint: Any) -> dict[str, Any]:
    return {
        "type": "Subscription",
        "entities": [{"type": NEVER_WRITTEN}],
        "notification": {"endpoint": {"uri": uri, **endpoint}},
    }


def _create(target: Target, body: dict[str, Any], as_: str) -> tuple[int, str | None]:
    """Create a subscription; the status, and its location when it was accepted."""
    answer = target.request("POST", SUBS, as_=as_, json=body)
    return answer.status_code, answer.headers.get("Location")


def _drop(target: Target, location: str | None) -> None:
    if location:
        target.request("DELETE", location, as_="admin")


def _refused_endpoint(uri: str) -> Callable[[Target], Verdict]:
    def probe(target: Target) -> Verdict:
        status, location = _create(target, _subscription(uri), "operator")
        _drop(target, location)  # accepted: gone before anything could be notified
        return refused(status == 400, f"subscription to {uri}: {status}")

    return probe


def operator_sets_authorization(target: Target) -> Verdict:
    info = [{"key": "Authorization", "value": "Bearer stolen"}]
    body = _subscription("http://receiver.invalid/x", receiverInfo=info)
    status, location = _create(target, body, "operator")
    _drop(target, location)
    return refused(status == 403, f"operator sets receiverInfo Authorization: {status}")


def mqtt_password_read_back(target: Target) -> Verdict:
    uri = "mqtt://city:redteam-secret@broker.invalid:1883/alerts"
    status, location = _create(target, _subscription(uri), "admin")
    if location is None:
        return refused(False, f"the admin's MQTT subscription was not made: {status}")
    try:
        shown = target.request("GET", location, as_="operator").text
        listed = target.request("GET", SUBS, as_="operator").text
    finally:
        _drop(target, location)
    leaked = "redteam-secret" in shown or "redteam-secret" in listed
    return refused(not leaked, f"MQTT password in GET: {'yes' if leaked else 'no'}")


PROBES = [
    *(Probe(f"subscription to {uri}", _refused_endpoint(uri)) for uri in LOCAL),
    Probe("operator sets receiverInfo Authorization", operator_sets_authorization),
    Probe("MQTT password read back", mqtt_password_read_back),
]
