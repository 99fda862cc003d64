"""Which notification endpoints the broker may call: the guard against SSRF.

A subscription makes the broker send requests wherever its endpoint points. Left open, that
lets a client reach the cloud's metadata service or hosts on the link-local network through
the broker. The policy is checked when a subscription is created or changed, and again just
before each delivery (a name may resolve elsewhere later).
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

from cityos.context.errors import BadRequestData
from cityos.events.subscription import STREAM_URI, hidden_uri

Network = ipaddress.IPv4Network | ipaddress.IPv6Network

SCHEMES = ("http", "https", "mqtt", "mqtts")

NAMED: dict[str, tuple[str, ...]] = {
    "loopback": ("127.0.0.0/8", "::1/128"),
    "private": (
        "10.0.0.0/8",
        "172.16.0.0/12",
        "192.168.0.0/16",
        "100.64.0.0/10",  # carrier-grade NAT (RFC 6598)
        "fc00::/7",  # IPv6 unique local
    ),
}
"""Names `--notify-allow` / `--notify-deny` take besides CIDRs."""

DEFAULT_DENY: tuple[str, ...] = (
    "169.254.0.0/16",  # IPv4 link-local, where clouds put 169.254.169.254
    "fe80::/10",  # IPv6 link-local
    "100.100.100.200/32",  # Alibaba Cloud's metadata service
    "fd00:ec2::254/128",  # AWS's IPv6 metadata service
    "0.0.0.0/8",  # "this network": 0.0.0.0 reaches the broker's own host
    "::/128",
    *NAMED["loopback"],
    *NAMED["private"],
)
"""Refused unless explicitly allowed: the broker's own host, the networks behind it, instance
metadata and link-local addresses (as GitLab refuses webhooks to the local network unless an
administrator allows it)."""


class EndpointRefused(BadRequestData):
    """The endpoint's scheme or address is not one the broker will notify."""


def _networks(items: Iterable[str]) -> tuple[Network, ...]:
    """CIDRs, or the names of NAMED standing for theirs."""
    cidrs = [cidr for item in items for cidr in NAMED.get(item.strip().lower(), (item,))]
    return tuple(ipaddress.ip_network(cidr, strict=False) for cidr in cidrs)


@dataclass(frozen=True, slots=True)
class EndpointPolicy:
    """Allow and deny lists of networks.

    An address is permitted unless a denied network holds it; an allowed network is an
    exception that opens the denied addresses it holds (so a city opens its own network, or
    one metadata-looking address, on purpose). To allow only some networks, deny 0.0.0.0/0
    and ::/0 and allow those.
    """

    allow: tuple[Network, ...] = ()
    deny: tuple[Network, ...] = field(default_factory=lambda: _networks(DEFAULT_DENY))

    @classmethod
    def from_lists(cls, allow: Iterable[str] = (), deny: Iterable[str] = ()) -> EndpointPolicy:
        """A policy from CIDR strings; `deny` adds to the default deny list."""
        try:
            return cls(_networks(allow), _networks([*DEFAULT_DENY, *deny]))
        except ValueError as error:
            raise ValueError(f"Not a network: {error}") from None

    def check(self, uri: str, *, unresolved_ok: bool = False) -> str | None:
        """Raise EndpointRefused when the broker must not deliver to `uri`; else the checked
        address to connect to (None for the stream endpoint, or a name not resolved yet).

        Delivery connects to that very address, so a name that resolves elsewhere a moment
        later (DNS rebinding) cannot lead past the check. With `unresolved_ok` (when a
        subscription is written), a host name that does not resolve yet passes: it may
        exist by the time of delivery, which checks again.
        """
        if uri == STREAM_URI:
            return None
        parts = urlsplit(uri)
        if parts.scheme not in SCHEMES:
            raise EndpointRefused(
                f"Notification endpoints use {', '.join(SCHEMES)} or {STREAM_URI}, "
                f"not {parts.scheme or 'no scheme'}."
            )
        if not parts.hostname:
            raise EndpointRefused(f"The endpoint {hidden_uri(uri)} names no host.")
        try:
            addresses = _addresses(parts.hostname)
        except EndpointRefused:
            if unresolved_ok:
                return None
            raise
        for address in addresses:
            if not self.permits(address):
                raise EndpointRefused(
                    f"The endpoint host {parts.hostname} ({address}) is in a network the "
                    "broker does not notify (loopback, private, link-local and cloud metadata "
                    "networks unless an administrator allows them: see --notify-allow / "
                    "--notify-deny)."
                )
        return str(addresses[0])

    def permits(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        """Whether `address`, and the IPv4 host it carries if any, may be notified."""
        judged = [address]
        if isinstance(address, ipaddress.IPv6Address):
            judged += _embedded_ipv4(address)
        return all(self._permits_one(one) for one in judged)

    def _permits_one(self, address: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
        if any(address in network for network in self.allow):
            return True
        return not any(address in network for network in self.deny)


_EMBEDDING = (
    ipaddress.ip_network("64:ff9b::/96"),  # NAT64 (RFC 6052)
    ipaddress.ip_network("::ffff:0:0:0/96"),  # SIIT (RFC 6145)
    ipaddress.ip_network("::/96"),  # IPv4-compatible (deprecated)
)


def _embedded_ipv4(address: ipaddress.IPv6Address) -> list[ipaddress.IPv4Address]:
    """The IPv4 addresses an IPv6 one carries (mapped, NAT64, SIIT, compatible, 6to4, and
    Teredo's server and client): the policy judges the IPv4 hosts such an address reaches."""
    if address.ipv4_mapped is not None:
        return [address.ipv4_mapped]
    if address.sixtofour is not None:
        return [address.sixtofour]
    if address.teredo is not None:
        return list(address.teredo)
    if any(address in network for network in _EMBEDDING) and int(address) > 0xFFFF:
        return [ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)]
    return []


def _addresses(host: str) -> list[ipaddress.IPv4Address | ipaddress.IPv6Address]:
    """The addresses `host` stands for: itself when it is one, else what it resolves to."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
    except OSError:
        raise EndpointRefused(f"The endpoint host {host} does not resolve.") from None
    return [ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos]


class RecentChecks:
    """`EndpointPolicy.check` remembered per URI for a while: deliveries to one endpoint
    follow each other closely, and resolving its host for every one would cost more than
    sending. A name is looked at again after `ttl_s`, so one that moves is still caught."""

    def __init__(self, policy: EndpointPolicy, ttl_s: float = 30.0) -> None:
        self.policy = policy
        self.ttl_s = ttl_s
        self._passed: dict[str, tuple[float, str | None]] = {}

    def check(self, uri: str) -> str | None:
        """The address to connect to; raises EndpointRefused as `EndpointPolicy.check`."""
        now = time.monotonic()
        until, address = self._passed.get(uri, (0.0, None))
        if until > now:
            return address
        address = self.policy.check(uri)
        if len(self._passed) > 10_000:
            self._passed.clear()
        self._passed[uri] = (now + self.ttl_s, address)
        return address
