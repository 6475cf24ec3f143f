"""Application statistics (A2): real monthly counters per application, in UTC months.

``count(tx, app_id, auths=1)`` and friends add to the process's in-memory ``Counters`` once ``tx``
commits (so a counter moves exactly when its cause does, and no request writes a counter row);
every authenticated request adds an API call the same way. ``flush`` writes the sums in one
transaction, periodically (the API's background task, the worker's maintenance). A failed flush
keeps its increments for the next one; a process killed between flushes loses at most one
interval.
"""

from __future__ import annotations

import logging
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
    """Add to the application's counters once ``tx`` commits (nothing if it rolls back)."""
    deltas = {"api_calls": api_calls, "auths": auths, "sms": sms, "calls": calls, "users": users}
    if any(deltas.values()):
        counters = tx.rt.counters
        tx.after_commit.append(lambda: counters.add(app_id, **deltas))


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


def flush(rt: Runtime) -> int:
    """Write the process's accumulated counts in one transaction (to the month of the flush);
    returns how many increments were written. If the transaction fails, the counts are put back
    (merged with those added meanwhile) and the error is raised. Counts of applications deleted
    meanwhile are dropped."""
    batch = rt.counters.take()
    if not batch:
        return 0

    def write(tx: Tx) -> int:
        known = q.existing_apps(tx.conn, sorted(batch))
        for app_id in sorted(known):
            q.increment(tx.conn, app_id, tx.now.year, tx.now.month, batch[app_id])
        return sum(sum(batch[app_id].values()) for app_id in known)

    try:
        return rt.run(write)
    except BaseException:
        rt.counters.put_back(batch)
        raise


def flusher(
    interval: float = FLUSH_INTERVAL_SECONDS,
) -> Callable[[Runtime, anyio.Event], Awaitable[None]]:
    """A background task for ``create_app(background=[...])``: flush every ``interval`` seconds,
    and once more when asked to stop. Failures are logged and retried at the next interval."""

    async def run(rt: Runtime, stop: anyio.Event) -> None:
        while True:
            with anyio.move_on_after(interval):
                await stop.wait()
            stopping = stop.is_set()  # read before flushing: this flush is then the last one
            try:
                await anyio.to_thread.run_sync(flush, rt)
            except Exception:
                log.exception("could not write the monthly counters; will retry")
            if stopping:
                return

    return run
