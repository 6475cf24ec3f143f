"""Monthly statistics counters: atomic increments, month windows, the in-memory API call counter."""

from __future__ import annotations

import threading
from datetime import UTC, datetime
from typing import Any

import anyio
import pytest

from tests.support import new_app
from twostep.clock import FrozenClock
from twostep.services import stats, users
from twostep.services.runtime import Runtime


def month(rt: Runtime, app_id: int, index: int = -1) -> stats.MonthStats:
    return rt.run(lambda tx: stats.monthly(tx, app_id), write=False).months[index]


def test_last_months_cross_the_year() -> None:
    now = datetime(2026, 2, 28, 23, 59, tzinfo=UTC)
    pairs = stats.last_months(now)
    assert pairs[0] == (2025, 3)
    assert pairs[-3:] == [(2025, 12), (2026, 1), (2026, 2)]
    assert len(pairs) == 12
    assert stats.last_months(datetime(2026, 1, 1, tzinfo=UTC), 2) == [(2025, 12), (2026, 1)]
    assert [stats.MonthStats(2026, m).month_name for m in (1, 12)] == ["January", "December"]


def counted(runtime: Runtime, **deltas: int) -> None:
    """Count in a transaction, then write the counts as the periodic flush does."""
    app_id = deltas.pop("app_id")
    runtime.run(lambda tx: stats.count(tx, app_id, **deltas))
    stats.flush(runtime)


def test_count_accumulates_per_month(runtime: Runtime, app_id: int, clock: FrozenClock) -> None:
    counted(runtime, app_id=app_id)  # nothing to add: no row
    assert month(runtime, app_id) == stats.MonthStats(2025, 11)
    counted(runtime, app_id=app_id, api_calls=2, auths=1)
    counted(runtime, app_id=app_id, api_calls=3, sms=1, calls=2, users=1)
    assert month(runtime, app_id) == stats.MonthStats(2025, 11, 5, 1, 1, 2, 1)
    clock.set(datetime(2025, 12, 1, tzinfo=UTC).timestamp())  # UTC months
    counted(runtime, app_id=app_id, auths=4)
    assert month(runtime, app_id) == stats.MonthStats(2025, 12, auths=4)
    assert month(runtime, app_id, -2) == stats.MonthStats(2025, 11, 5, 1, 1, 2, 1)


def test_count_rolls_back_with_its_transaction(runtime: Runtime, app_id: int) -> None:
    def fail(tx: Any) -> None:
        stats.count(tx, app_id, auths=1)
        raise RuntimeError("the counted event failed")

    with pytest.raises(RuntimeError):
        runtime.run(fail)
    assert runtime.counters.pending() == {}
    stats.flush(runtime)
    assert month(runtime, app_id).auths == 0


def test_counts_wait_for_their_flush(runtime: Runtime, app_id: int) -> None:
    runtime.run(lambda tx: stats.count(tx, app_id, sms=2))
    assert runtime.counters.pending() == {app_id: {"sms": 2}}
    assert month(runtime, app_id).sms == 0  # no request writes a counter row
    assert stats.flush(runtime) == 2
    assert month(runtime, app_id).sms == 2


def test_total_users_counts_registered_users(runtime: Runtime) -> None:
    app = new_app(runtime, "Users")[0]
    other = new_app(runtime, "Other")[0]
    phones = ["201-555-0123", "201-555-0134", "201-555-0145"]
    for phone in phones:
        runtime.run(
            lambda tx, p=phone: users.register(
                tx, app, email="a@example.com", country_code=1, cellphone=p
            )
        )
    registered = runtime.run(
        lambda tx: users.register(
            tx, other, email="b@example.com", country_code=1, cellphone=phones[0]
        )
    )
    runtime.run(lambda tx: users.remove(tx, other, registered.authy_id))
    assert runtime.run(lambda tx: stats.monthly(tx, app.id)).total_users == 3
    assert runtime.run(lambda tx: stats.monthly(tx, other.id)).total_users == 0


def test_counters_are_thread_safe_and_flush(runtime: Runtime, app_id: int) -> None:
    other = new_app(runtime, "Other")[0].id
    counters = runtime.counters

    def work() -> None:
        for i in range(1000):
            counters.add(app_id if i % 4 else other, api_calls=1, sms=i % 2)

    threads = [threading.Thread(target=work) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert counters.pending() == {
        app_id: {"api_calls": 6000, "sms": 4000},
        other: {"api_calls": 2000},
    }
    assert stats.flush(runtime) == 12000
    assert counters.pending() == {}
    assert stats.flush(runtime) == 0
    assert (month(runtime, app_id).api_calls, month(runtime, app_id).sms) == (6000, 4000)
    assert month(runtime, other).api_calls == 2000
    counters.add(app_id, api_calls=5)
    stats.flush(runtime)
    assert month(runtime, app_id).api_calls == 6005
    with pytest.raises(ValueError, match="unknown"):
        counters.add(app_id, logins=1)


def test_a_failed_flush_keeps_its_increments(
    runtime: Runtime, app_id: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    counters = runtime.counters
    counters.add(app_id, api_calls=3)
    real_run = runtime.run

    def broken(fn: Any, *, write: bool = True) -> Any:
        counters.add(app_id, api_calls=2)  # a request counted while the flush is under way
        raise ConnectionError("database down")

    monkeypatch.setattr(runtime, "run", broken)
    with pytest.raises(ConnectionError):
        stats.flush(runtime)
    assert counters.pending() == {app_id: {"api_calls": 5}}
    monkeypatch.setattr(runtime, "run", real_run)
    assert stats.flush(runtime) == 5
    assert month(runtime, app_id).api_calls == 5


def test_counts_of_vanished_applications_are_dropped(runtime: Runtime, app_id: int) -> None:
    runtime.counters.add(987654, api_calls=4)
    runtime.counters.add(app_id, api_calls=1)
    assert stats.flush(runtime) == 1
    assert runtime.counters.pending() == {}
    assert month(runtime, app_id).api_calls == 1


def test_flusher_runs_periodically_and_at_stop(runtime: Runtime, app_id: int) -> None:
    task = stats.flusher(interval=0.05)

    async def go() -> int:
        stop = anyio.Event()
        async with anyio.create_task_group() as tg:
            tg.start_soon(task, runtime, stop)
            runtime.counters.add(app_id, api_calls=2)
            with anyio.fail_after(10):  # written without being asked
                while month(runtime, app_id).api_calls != 2:  # noqa: ASYNC110 - polls the database
                    await anyio.sleep(0.01)
            runtime.counters.add(app_id, api_calls=3)
            stop.set()
        return month(runtime, app_id).api_calls

    assert anyio.run(go) == 5  # the last increments were written when it stopped
    assert runtime.counters.pending() == {}
