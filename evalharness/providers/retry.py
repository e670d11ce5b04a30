"""One retry policy for every provider: which failures are retried, how long to wait, when to give up.

Classification, in one place:
- fatal (`EndpointError(fatal=True)`): 401/403/404 for HTTP (wrong key, permission, URL or model), a model
  file that cannot load. Every other request would fail the same way, so the run stops at once.
- retried (`Retryable`): 408/409/425/429, every 5xx, timeouts, dropped connections and bodies that are not
  a chat completion. Waits grow exponentially with full jitter (capped at `max_backoff_s`), and a server's
  `Retry-After` (seconds or an HTTP date) is honoured, capped at `max_retry_after_s`. Failures that came
  with a `Retry-After` are the server pacing us, not a broken request: they do not use up `max_retries`
  (they have their own, larger cap, `MAX_PACED_RETRIES`), so a rate-limited run loses no sample.
- failed for this sample only (`EndpointError`): other 4xx, e.g. a prompt over the context length.
A provider raises `Retryable` from one attempt and lets `RetryPolicy.run` loop; the counters it keeps
(`requests`, `retries`) go to results.json.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from dataclasses import dataclass
from typing import Awaitable, Callable, TypeVar

from evalharness.chat import EndpointError

T = TypeVar("T")

RETRY_STATUSES = frozenset({408, 409, 425, 429})
MAX_PACED_RETRIES = 50
FATAL_STATUSES = frozenset({401, 403, 404})


class Retryable(Exception):
    """A failed attempt worth another try (see the module docstring)."""

    def __init__(self, reason: str, status: int | None = None, retry_after: float | None = None):
        super().__init__(reason)
        self.reason = reason
        self.status = status
        self.retry_after = retry_after


def status_kind(status: int) -> str:
    """`ok`, `fatal`, `retry` or `fail` for an HTTP status."""
    if 200 <= status < 300:
        return "ok"
    if status in FATAL_STATUSES:
        return "fatal"
    if status in RETRY_STATUSES or status >= 500:
        return "retry"
    return "fail"


def parse_retry_after(value: str | None) -> float | None:
    """Seconds to wait from a `Retry-After` header: delta-seconds or an HTTP date; None when absent/bad."""
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        return max(0.0, email.utils.parsedate_to_datetime(value).timestamp() - time.time())
    except (TypeError, ValueError, IndexError):
        return None


@dataclass
class RetryPolicy:
    max_retries: int = 6
    backoff_s: float = 0.5
    max_backoff_s: float = 30.0
    max_retry_after_s: float = 150.0
    requests: int = 0
    retries: int = 0
    waiting: int = 0  # attempts sleeping before their retry right now (the progress line shows it)

    def delay(self, attempt: int, retry_after: float | None) -> float:
        if retry_after is not None:
            return min(retry_after, self.max_retry_after_s)
        return random.uniform(0, min(self.max_backoff_s, self.backoff_s * 2 ** (attempt - 1)))

    async def run(self, attempt_once: Callable[[], Awaitable[T]]) -> tuple[T, int]:
        """Call `attempt_once` until it succeeds; returns (result, attempts). Gives up with EndpointError
        after `max_retries` retries; EndpointErrors from an attempt pass through with `attempts` set."""
        attempt = failures = paced = 0
        while True:
            attempt += 1
            self.requests += 1
            try:
                return await attempt_once(), attempt
            except Retryable as exc:
                if exc.retry_after is None:
                    failures += 1
                else:
                    paced += 1
                if failures > self.max_retries or paced > MAX_PACED_RETRIES:
                    raise EndpointError(f"{exc.reason} (gave up after {attempt} attempts)", status=exc.status,
                                        attempts=attempt) from None
                self.retries += 1
                self.waiting += 1
                try:
                    await asyncio.sleep(self.delay(max(1, failures), exc.retry_after))
                finally:
                    self.waiting -= 1
            except EndpointError as exc:
                exc.attempts = attempt
                raise

    def stats(self) -> dict[str, int]:
        return {"requests": self.requests, "retries": self.retries}
