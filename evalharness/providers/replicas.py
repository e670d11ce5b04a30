"""Several endpoints serving one model (replicas): which one gets the next attempt, and which are healthy.

- Balancing: the healthy replica with the fewest requests outstanding (ties: the one used least recently),
  so a slow replica naturally gets less work.
- Health: three failed attempts in a row (errors, timeouts, hangs) take a replica out for a cool-down that
  starts at 5 s and doubles up to 2 minutes; after it, one attempt probes it (a success puts it back). When
  every replica is out, the one whose cool-down ends first is used anyway: the run slows, it never stalls.
- Hangs: with two or more replicas up and enough answers seen (10), an attempt that takes longer than
  `hang_factor` x the 95th-percentile latency observed (at least `hang_floor_s`, at most the request
  timeout) is given up and retried elsewhere, and counts as a failure of its replica; so is an attempt
  still waiting on a replica that was taken out meanwhile. A replica that
  accepts connections and never answers is so taken out after three such attempts instead of holding a
  share of the requests for the whole timeout. With one replica the full timeout always applies.
The cache key never depends on the replica (see `HTTPProvider.identity`).
"""

from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

FAILURES_TO_EJECT = 3
COOLDOWN_START_S = 5.0
COOLDOWN_MAX_S = 120.0
LATENCY_SAMPLES = 200


@dataclass
class Replica:
    url: str  # the full request URL
    base: str = ""  # the base URL as configured (how results.json names the replica)
    pools: Any = None  # the transport's connection pools for this URL (made on first use)
    headers: Any = None
    outstanding: int = 0
    requests: int = 0
    failures: int = 0
    consecutive_failures: int = 0
    ejections: int = 0
    down_until: float = 0.0
    cooldown_s: float = COOLDOWN_START_S
    last_used: float = 0.0

    def up(self, now: float) -> bool:
        return now >= self.down_until

    def report(self) -> dict[str, Any]:
        return {"requests": self.requests, "failures": self.failures, "ejections": self.ejections}


@dataclass
class ReplicaSet:
    replicas: list[Replica]
    hang_factor: float = 10.0
    hang_floor_s: float = 10.0
    _latencies: deque = field(default_factory=lambda: deque(maxlen=LATENCY_SAMPLES))

    def pick(self) -> Replica:
        now = time.monotonic()
        healthy = [r for r in self.replicas if r.up(now)] or [min(self.replicas, key=lambda r: r.down_until)]
        chosen = min(healthy, key=lambda r: (r.outstanding, r.last_used))
        chosen.outstanding += 1
        chosen.requests += 1
        chosen.last_used = now
        return chosen

    def done(self, replica: Replica, ok: bool, latency_s: float | None = None) -> None:
        replica.outstanding -= 1
        if ok:
            replica.consecutive_failures = 0
            replica.cooldown_s = COOLDOWN_START_S
            replica.down_until = 0.0
            if latency_s is not None:
                self._latencies.append(latency_s)
            return
        replica.failures += 1
        replica.consecutive_failures += 1
        if replica.consecutive_failures >= FAILURES_TO_EJECT:
            replica.down_until = time.monotonic() + replica.cooldown_s
            replica.cooldown_s = min(COOLDOWN_MAX_S, replica.cooldown_s * 2)
            replica.consecutive_failures = FAILURES_TO_EJECT - 1  # one more failure after the probe: out again
            replica.ejections += 1

    def attempt_timeout(self, full_timeout_s: float) -> float:
        """How long this attempt may take before it counts as hung (see the module docstring)."""
        now = time.monotonic()
        if len(self.replicas) < 2 or sum(r.up(now) for r in self.replicas) < 2 or len(self._latencies) < 10:
            return full_timeout_s
        recent = sorted(self._latencies)
        p95 = recent[min(len(recent) - 1, int(len(recent) * 0.95))]
        return min(full_timeout_s, max(self.hang_floor_s, self.hang_factor * p95))

    def snapshot(self) -> dict[str, Any]:
        now = time.monotonic()
        return {"replicas_up": sum(r.up(now) for r in self.replicas), "replicas": len(self.replicas)}
