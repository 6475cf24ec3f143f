"""Per-application monthly counter increments, summed in memory (thread-safe) between writes.

Counting in the request's transaction made every authentication of an application update one
row: on PostgreSQL all of that application's verifications then queued on its row lock. Here a
count is added once its transaction commits, and ``stats.flush`` writes the sums periodically; a
process killed between two writes loses at most one interval of counts."""

from __future__ import annotations

import threading

FIELDS = ("api_calls", "auths", "sms", "calls", "users")
_KNOWN = frozenset(FIELDS)


class Counters:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[int, dict[str, int]] = {}

    def add(self, app_id: int, **deltas: int) -> None:
        unknown = deltas.keys() - _KNOWN
        if unknown:
            raise ValueError(f"unknown counters: {', '.join(sorted(unknown))}")
        with self._lock:
            sums = self._pending.setdefault(app_id, {})
            for name, n in deltas.items():
                if n:
                    sums[name] = sums.get(name, 0) + n

    def pending(self) -> dict[int, dict[str, int]]:
        with self._lock:
            return {app_id: dict(sums) for app_id, sums in self._pending.items() if sums}

    def take(self) -> dict[int, dict[str, int]]:
        with self._lock:
            batch, self._pending = self._pending, {}
        return {app_id: sums for app_id, sums in batch.items() if sums}

    def put_back(self, batch: dict[int, dict[str, int]]) -> None:
        for app_id, sums in batch.items():
            self.add(app_id, **sums)
