"""The rolling baseline of one attribute of one entity: mean and deviation over a window.

Kept in memory (sums updated per value, old values dropped as the window slides), so a
deviation test costs O(1) per update; after a restart it is rebuilt from the history.
"""

from __future__ import annotations

import math
from collections import deque


class Baseline:
    """Values seen in the last `window_s` seconds, with running sums for mean and variance.

    Sums are of differences from the first value seen (the shifted-data algorithm), so
    large readings with a small spread do not lose their variance to rounding.
    """

    __slots__ = ("_shift", "_squares", "_total", "samples", "window_s")

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self.samples: deque[tuple[float, float]] = deque()
        self._shift: float | None = None
        self._total = 0.0
        self._squares = 0.0

    def add(self, at: float, value: float) -> None:
        if self._shift is None:
            self._shift = value
        d = value - self._shift
        self.samples.append((at, value))
        self._total += d
        self._squares += d * d

    def slide(self, now: float) -> None:
        """Forget values older than the window before `now`."""
        horizon = now - self.window_s
        samples = self.samples
        while samples and samples[0][0] < horizon:
            _, value = samples.popleft()
            assert self._shift is not None
            d = value - self._shift
            self._total -= d
            self._squares -= d * d
        if not samples:
            self._shift, self._total, self._squares = None, 0.0, 0.0

    def zscore(self, value: float, at: float, min_samples: int) -> float | None:
        """z of `value` against the values of the window before `at`; None with too few.

        The standard deviation is the population one. A constant baseline makes any other
        value infinitely far (±inf) and the same value 0.
        """
        self.slide(at)
        n = len(self.samples)
        if n < min_samples or self._shift is None:
            return None
        mean_d = self._total / n
        variance = max(self._squares / n - mean_d * mean_d, 0.0)
        distance = value - (self._shift + mean_d)
        std = math.sqrt(variance)
        if std <= 1e-12 * max(1.0, abs(self._shift)):
            return (
                0.0
                if abs(distance) <= 1e-12 * max(1.0, abs(value))
                else math.copysign(math.inf, distance)
            )
        return distance / std
