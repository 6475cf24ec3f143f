"""Application statistics (A2): real monthly counters per application, in UTC months.

Two ways in:

* ``count(tx, app_id, auths=1)`` and friends, in the transaction of the event being counted
  (authentications, SMS, calls, new users), so a counter moves exactly when its cause commits;
* ``ApiCallCounter``: every authenticated request adds one in memory (no database write on the
  request path); ``flush`` writes the sums in one transaction, periodically. A failed flush keeps
  its increments for the next one; a process killed between flushes loses at most one interval.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import anyio
import anyio.to_thread

from twostep.services.runtime import Runtime, Tx
from twostep.store import stats as q

log = logging.getLogger("twostep.stats")

MONTH_NAMES = (
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
)  # fmt: skip  (English whatever the process locale: calendar.month_name is locale-dependent)
MONTHS_SHOWN = 12
FLUSH_INTERVAL_SECONDS = 10.0


@dataclass(frozen=True, slots=True)
class MonthStats:
    year: int
    month: int  # 1-12
    api_calls: int = 0
    auths: int = 0
    sms: int = 0
    calls: int = 0
    users: int = 0

    @property
    def month_name(self) -> str:
        return MONTH_NAMES[self.month - 1]


@dataclass(frozen=True, slots=True)
class AppStats:
    app_id: int
    months: list[MonthStats]  # oldest first, ending with the current month
    total_users: int


def count(
    tx: Tx,
    app_id: int,
    *,
    api_calls: int = 0,
    auths: int = 0,
    sms: int = 0,
    calls: int = 0,
    users: int = 0,
) -> None:
    """Add to the application's counters for the current month, in ``tx``."""
    deltas = {"api_calls": api_calls, "auths": auths, "sms": sms, "calls": calls, "users": users}
    if any(deltas.values()):
        q.increment(tx.conn, app_id, tx.now.year, tx.now.month, deltas)


def last_months(now: datetime, n: int = MONTHS_SHOWN) -> list[tuple[int, int]]:
    """The ``n`` (year, month) pairs ending with ``now``'s month, oldest first."""
    index = now.year * 12 + now.month - 1
    return [(i // 12, i % 12 + 1) for i in range(index - n + 1, index + 1)]


def monthly(tx: Tx, app_id: int, n: int = MONTHS_SHOWN) -> AppStats:
    wanted = last_months(tx.now, n)
    found = {(r.year, r.month): r for r in q.months(tx.conn, app_id, wanted)}
    months = []
    for year, month in wanted:
        row = found.get((year, month))
        if row is None:
            months.append(MonthStats(year, month))
        else:
            months.append(
                MonthStats(year, month, row.api_calls, row.auths, row.sms, row.calls, row.users)
            )
    return AppStats(app_id, months, q.registered_users(tx.conn, app_id))


class ApiCallCounter:
    """API calls per application, summed in memory (thread-safe) and written by ``flush``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pending: dict[int, int] = {}

    def add(self, app_id: int, n: int = 1) -> None:
        with self._lock:
            self._pending[app_id] = self._pending.get(app_id, 0) + n

    def pending(self) -> dict[int, int]:
        with self._lock:
            return dict(self._pending)

    def flush(self, rt: Runtime) -> int:
        """Write the accumulated increments in one transaction (to the month of the flush) and
        return how many calls were written. If the transaction fails, the increments are put back
        (merged with those added meanwhile) and the error is raised."""
        with self._lock:
            batch, self._pending = self._pending, {}
        if not batch:
            return 0

        def write(tx: Tx) -> int:
            known = q.existing_apps(tx.conn, sorted(batch))
            for app_id in sorted(known):
                count(tx, app_id, api_calls=batch[app_id])
            return sum(batch[app_id] for app_id in known)

        try:
            return rt.run(write)
        except BaseException:
            with self._lock:
                for app_id, n in batch.items():
                    self._pending[app_id] = self._pending.get(app_id, 0) + n
            raise


def flusher(
    counter: ApiCallCounter, interval: float = FLUSH_INTERVAL_SECONDS
) -> Callable[[Runtime, anyio.Event], Awaitable[None]]:
    """A background task for ``create_app(background=[...])``: flush every ``interval`` seconds,
    and once more when asked to stop. Failures are logged and retried at the next interval."""

    async def run(rt: Runtime, stop: anyio.Event) -> None:
        while True:
            with anyio.move_on_after(interval):
                await stop.wait()
            stopping = stop.is_set()  # read before flushing: this flush is then the last one
            try:
                await anyio.to_thread.run_sync(counter.flush, rt)
            except Exception:
                log.exception("could not write the API call counters; will retry")
            if stopping:
                return

    return run
