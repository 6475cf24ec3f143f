"""Group commit for inline SQLite units (store/db.py, ``run_unit``).

The first inline unit that writes in a turn of the event loop leaves its transaction open and
schedules its ``COMMIT`` for the loop's next turn; the inline units the loop runs meanwhile join
that transaction, each in a savepoint of its own (a unit that fails is undone alone), and all
of them answer only once the one ``COMMIT`` is done. So a commit — writing every page the units
dirtied to the WAL, most of them the same right-hand pages of tables and indexes — is paid once
a turn instead of once a unit. What is kept is unchanged: nothing is answered before it is
committed, and a failed ``COMMIT`` fails every unit of the group, none of which then answered.

The group holds this process's writer lock from its first unit to its ``COMMIT`` (threads wait
for it as for any writer), and lives on the loop's thread only; blocking work that needs the
lock on that thread commits the group first, as it could not wait for the next turn."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

log = logging.getLogger("twostep.db")


class CommitGroup:
    def __init__(self, commit: Callable[[], None], release: Callable[[], None]) -> None:
        """Open a group around the current, still open, transaction: ``commit`` ends it, and
        ``release`` gives the writer lock back."""
        self.loop = asyncio.get_running_loop()
        self.thread = threading.get_ident()
        # one future per unit, not one shared: a unit whose request is cancelled while it waits
        # cancels its own only (a shared one would need asyncio.shield, ~3 µs a unit more)
        self._waiters: list[asyncio.Future[None]] = []
        self._failure: BaseException | None = None
        self.hooks: list[Callable[[], None]] = []
        self._commit, self._release = commit, release
        self._open = True
        self.loop.call_soon(self.finish)

    def is_current(self) -> bool:
        """Whether the calling thread is the group's (the loop's) thread."""
        return threading.get_ident() == self.thread

    @contextmanager
    def unit(self, driver: Any) -> Iterator[None]:
        """A further unit's transaction: a savepoint in the group's, undone alone if it raises."""
        driver.execute("SAVEPOINT unit")
        try:
            yield
        except BaseException:
            driver.execute("ROLLBACK TO unit")
            driver.execute("RELEASE unit")
            raise
        driver.execute("RELEASE unit")

    def committed(self) -> asyncio.Future[None]:
        """A future done when the group has committed (failed with the error if that failed)."""
        waiter = self.loop.create_future()
        if self._open:
            self._waiters.append(waiter)
        elif self._failure is not None:
            waiter.set_exception(self._failure)
        else:
            waiter.set_result(None)
        return waiter

    def finish(self) -> None:
        """Commit (at the loop's next turn, or earlier when blocking work needs the lock), then
        let every unit of the group answer and run their after-commit hooks."""
        if not self._open:
            return
        self._open = False
        try:
            self._commit()
        except Exception as exc:  # noqa: BLE001 - every unit of the group reports it
            self._failure = exc
            for waiter in self._waiters:
                if not waiter.done():  # a cancelled unit's is done already
                    waiter.set_exception(exc)
            return
        finally:
            self._release()
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)
        for hook in self.hooks:
            try:
                hook()
            except Exception:  # a failed wake-up must not fail units that committed
                log.exception("an after-commit hook failed")
