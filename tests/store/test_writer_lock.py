"""The SQLite writer lock's wake-ups (store/writer_lock.py): an event loop awaiting the lock is
woken by a release on any thread, at once, not by its periodic re-check."""

from __future__ import annotations

import asyncio
import threading

import pytest

from twostep.store import writer_lock
from twostep.store.writer_lock import WriterLock

GUARD_SECONDS = 5.0


@pytest.fixture(autouse=True)
def no_recheck(monkeypatch: pytest.MonkeyPatch) -> None:
    """A lost wake-up would then hang for a minute; the guard fails the test long before."""
    monkeypatch.setattr(writer_lock, "_RECHECK_SECONDS", 60.0)


def test_a_release_on_another_thread_wakes_the_loop() -> None:
    lock = WriterLock()
    lock.acquire()
    release = threading.Timer(0.1, lock.release)

    async def main() -> None:
        release.start()
        while lock.locked():
            await asyncio.wait_for(lock.changed(lock.locked), GUARD_SECONDS)

    asyncio.run(main())
    release.join()
    assert lock.acquire(blocking=False)


def test_a_release_on_the_loop_wakes_the_other_waiters() -> None:
    lock = WriterLock()
    lock.acquire()
    woken: list[int] = []

    async def waiter(n: int) -> None:
        await asyncio.wait_for(lock.changed(lock.locked), GUARD_SECONDS)
        woken.append(n)

    async def main() -> None:
        waiters = [asyncio.create_task(waiter(n)) for n in range(3)]
        await asyncio.sleep(0.05)  # all three are waiting
        assert woken == []
        lock.release()
        await asyncio.gather(*waiters)

    asyncio.run(main())
    assert sorted(woken) == [0, 1, 2]


def test_a_change_before_registering_returns_at_once() -> None:
    lock = WriterLock()

    async def main() -> None:
        await asyncio.wait_for(lock.changed(lock.locked), GUARD_SECONDS)  # not locked

    asyncio.run(main())


def test_wake_skips_loops_that_have_closed_and_waiters_that_gave_up() -> None:
    lock = WriterLock()
    lock.acquire()

    async def give_up() -> None:
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(lock.changed(lock.locked), 0.01)

    asyncio.run(give_up())  # its loop is closed now, its future cancelled
    lock.release()  # must not raise
    assert lock.acquire(blocking=False)
