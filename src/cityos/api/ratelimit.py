"""Rate limits per caller: a token bucket per API key or token subject, and per client
address for callers without credentials; past it, 429 Too Many Requests with Retry-After.

The buckets live in this process: with N instances behind a balancer a caller gets up to N
times the rate (a counter shared through NATS KV or Redis would make it exact; not yet).
"""

from __future__ import annotations

import math
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import orjson
from starlette.responses import Response
from starlette.types import ASGIApp, Receive, Scope, Send

from cityos.auth.principal import Method, Principal
from cityos.context.errors import TooManyRequests

EXEMPT = ("/health", "/metrics")
"""Probes and scrapes, polled every few seconds by the platform, never limited."""


@dataclass(frozen=True, slots=True)
class RateLimit:
    """`per_second` requests on average, `burst` of them at once."""

    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if not self.per_second > 0 or self.burst < 1:
            raise ValueError(f"a rate limit needs a rate > 0 and a burst >= 1, not {self}")


class TokenBuckets:
    """One bucket of `burst` tokens per caller, refilled at `per_second`; a request takes
    one. At most `capacity` callers are remembered, the longest idle forgotten first: a
    forgotten caller starts with a full bucket, as it would after idling anyway."""

    def __init__(
        self,
        limit: RateLimit,
        clock: Callable[[], float] = time.monotonic,
        capacity: int = 100_000,
    ) -> None:
        self.limit = limit
        self.clock = clock
        self.capacity = capacity
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def take(self, caller: str) -> float:
        """0 when the caller may go on (its token taken), else the seconds until it may."""
        now = self.clock()
        tokens, last = self._buckets.pop(caller, (float(self.limit.burst), now))
        tokens = min(float(self.limit.burst), tokens + (now - last) * self.limit.per_second)
        wait = 0.0
        if tokens >= 1.0:
            tokens -= 1.0
        else:
            wait = (1.0 - tokens) / self.limit.per_second
        self._buckets[caller] = (tokens, now)
        while len(self._buckets) > self.capacity:
            self._buckets.popitem(last=False)
        return wait


def caller_of(scope: Scope, principal: Principal | None) -> str:
    """Whose bucket a request takes from: the credentials' subject, else the client address."""
    if principal is not None and principal.method is not Method.ANONYMOUS:
        return f"{principal.method.value}:{principal.subject}"
    client = scope.get("client")
    return f"address:{client[0] if client else 'unknown'}"


class RateLimiter:
    """The middleware, after authentication (it needs the principal): 429 with Retry-After
    and ProblemDetails once the caller's bucket is empty."""

    def __init__(self, app: ASGIApp, limit: RateLimit, principal_key: str) -> None:
        """`principal_key`: where api/auth.py leaves the principal in the scope."""
        self.app = app
        self.buckets = TokenBuckets(limit)
        self.principal_key = principal_key

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope.get("path", "").startswith(EXEMPT):
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take(caller_of(scope, scope.get(self.principal_key)))
        if not wait:
            await self.app(scope, receive, send)
            return
        limit = self.buckets.limit
        retry = max(1, math.ceil(wait))
        error = TooManyRequests(
            f"The rate limit of {limit.per_second:g} requests a second (bursts of "
            f"{limit.burst}) for these credentials is used up; retry in {retry} s "
            "(cityos serve --rate-limit and --rate-burst).",
            retry_after=retry,
        )
        headers = {"Retry-After": str(retry)}
        response = Response(orjson.dumps(error.problem()), 429, headers, "application/json")
        await response(scope, receive, send)
