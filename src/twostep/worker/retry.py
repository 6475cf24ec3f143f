"""Retry policy for outbox jobs: exponential backoff with jitter, then the dead-letter state."""

from __future__ import annotations

import random
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Backoff:
    base_seconds: float
    max_seconds: float
    max_attempts: int

    def delay(self, attempts: int, rng: random.Random | None = None) -> float:
        """Seconds before attempt ``attempts + 1``: base·2^(n-1), capped, times a jitter in
        [0.5, 1.5) so that jobs failing together do not retry together."""
        raw = min(self.max_seconds, self.base_seconds * 2.0 ** max(0, attempts - 1))
        jitter: float = (rng or random).uniform(0.5, 1.5)
        return raw * jitter

    def exhausted(self, attempts: int) -> bool:
        return attempts >= self.max_attempts
