"""How fast a provider may send: rate limits and an adaptive window of requests in flight.

Every attempt goes through `Limits.acquire` before it is sent and `Limits.release` after:
- `requests_per_minute` / `tokens_per_minute` (profile settings): token buckets refilled continuously, holding
  at most 10 seconds of budget, so a run starts smoothly instead of spending a minute's quota in a burst.
  Tokens are estimated before sending (prompt bytes / 4 + max_tokens) and corrected with the usage the
  response reports.
- an adaptive window on in-flight requests, as inspect's adaptive connections do: it starts at
  `--concurrency`, is halved on a 429 (at most once a second, so one burst of 429s counts once), grows by
  1/window per success (about +1 per window of successes) and never exceeds `--concurrency`.
A `Retry-After` is honoured by the request that got it (providers/retry.py); one longer than
`max_retry_after_s` means an exhausted quota and stops the run (providers/openai.py). `snapshot()` tells the
progress line the window size.
"""

from __future__ import annotations

import asyncio
import time
from dataclasses import dataclass


class _Bucket:
    def __init__(self, per_minute: float):
        self.rate = per_minute / 60.0
        self.capacity = max(1.0, self.rate * 10)
        self.level = self.capacity
        self.stamp = time.monotonic()

    def wait_for(self, amount: float) -> float:
        """Seconds until `amount` is available (0 when it is); takes it when it is."""
        now = time.monotonic()
        self.level = min(self.capacity, self.level + (now - self.stamp) * self.rate)
        self.stamp = now
        amount = min(amount, self.capacity)  # a request bigger than the bucket waits for a full bucket
        if self.level >= amount:
            self.level -= amount
            return 0.0
        return (amount - self.level) / self.rate

    def refund(self, amount: float) -> None:
        self.level = min(self.capacity, self.level + amount)


@dataclass
class LimitSettings:
    concurrency: int = 16
    requests_per_minute: float | None = None
    tokens_per_minute: float | None = None
    max_retry_after_s: float = 600.0


class Limits:
    def __init__(self, settings: LimitSettings):
        self.settings = settings
        self.window = float(settings.concurrency)
        self.window_min = self.window
        self.in_flight = 0
        self.waits_s = 0.0  # time attempts spent waiting for limits (results.json)
        self._requests = _Bucket(settings.requests_per_minute) if settings.requests_per_minute else None
        self._tokens = _Bucket(settings.tokens_per_minute) if settings.tokens_per_minute else None
        self._last_cut = 0.0
        self._changed = asyncio.Event()

    async def acquire(self, tokens: float) -> None:
        """Wait until this attempt may be sent (a window slot free, budget available)."""
        if self._requests is None and self._tokens is None and self.in_flight < int(self.window):
            self.in_flight += 1  # the common case: no rate limits, the window not full
            return
        started = time.monotonic()
        while True:
            if self.in_flight >= max(1, int(self.window)):
                self._changed.clear()
                await self._changed.wait()
                continue
            delay = self._requests.wait_for(1) if self._requests else 0.0
            if not delay and self._tokens:
                delay = self._tokens.wait_for(tokens)
                if delay and self._requests:
                    self._requests.refund(1)
            if delay:
                await asyncio.sleep(delay)
                continue
            self.in_flight += 1
            self.waits_s += time.monotonic() - started
            return

    def release(self) -> None:
        self.in_flight -= 1
        self._changed.set()

    def settle_tokens(self, estimated: float, used: int) -> None:
        """Correct the token budget once the response says how many tokens the request really cost."""
        if self._tokens and used:
            self._tokens.refund(estimated - used)

    def on_success(self) -> None:
        limit = float(self.settings.concurrency)
        if self.window < limit:
            self.window = min(limit, self.window + 1.0 / self.window)
            self._changed.set()

    def on_rate_limited(self) -> None:
        """A 429: halve the window (once per second at most)."""
        now = time.monotonic()
        if now - self._last_cut >= 1.0:
            self._last_cut = now
            self.window = max(1.0, self.window / 2)
            self.window_min = min(self.window_min, self.window)

    def snapshot(self) -> dict[str, float]:
        return {"window": int(self.window), "in_flight": self.in_flight}
