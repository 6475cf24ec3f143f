"""Wake-ups for long polls and streams: "approval X changed", "person Y has a new request".

In-process waiters are asyncio futures; ``publish`` may be called from any thread (services run in
worker threads). Other nodes hear about changes through PostgreSQL NOTIFY (see store/notify.py and
the listener in api/), and every waiter also re-checks the database periodically, which is how
SQLite deployments with several processes stay correct."""

from __future__ import annotations

import asyncio
from collections import defaultdict
from collections.abc import Callable
from typing import TYPE_CHECKING

from twostep.store import notify as pg

if TYPE_CHECKING:
    from twostep.services.runtime import Runtime


class Notifier:
    def __init__(self) -> None:
        self._waiters: dict[str, set[asyncio.Future[None]]] = defaultdict(set)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._subscribers: dict[str, list[Callable[[], None]]] = defaultdict(list)
        self.closing = False  # the server is shutting down: long polls answer, streams end

    def close(self) -> None:
        """Shutdown has begun: wake every waiter now and let no one wait again (call it on the
        notifier's event loop)."""
        self.closing = True
        for topic in list(self._waiters):
            self._wake(topic)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop

    def publish(self, topic: str) -> None:
        """Wake everyone waiting on ``topic``; safe from any thread."""
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._wake(topic)
        else:
            loop.call_soon_threadsafe(self._wake, topic)

    def _wake(self, topic: str) -> None:
        for future in self._waiters.pop(topic, set()):
            if not future.done():
                future.set_result(None)
        for callback in list(self._subscribers.get(topic, ())):
            callback()

    def subscribe(self, topic: str, callback: Callable[[], None]) -> Callable[[], None]:
        """Call ``callback`` (on the notifier's loop) at every announcement of ``topic`` until the
        returned function is called. Unlike ``wait`` nothing is missed between two waits."""
        self._subscribers[topic].append(callback)
        return lambda: self._subscribers[topic].remove(callback)

    async def wait(self, topic: str, seconds: float) -> bool:
        """True if ``topic`` was published within ``seconds``."""
        if self.closing:
            return False
        loop = asyncio.get_running_loop()
        if self._loop is None:
            self._loop = loop
        future: asyncio.Future[None] = loop.create_future()
        self._waiters[topic].add(future)
        try:
            await asyncio.wait_for(future, seconds)
            return True
        except TimeoutError:
            return False
        finally:
            waiters = self._waiters.get(topic)
            if waiters is not None:
                waiters.discard(future)
                if not waiters:
                    self._waiters.pop(topic, None)


async def listen_for_changes(rt: Runtime) -> None:
    """Relay other nodes' announcements (Redis pub/sub when configured, else PostgreSQL NOTIFY)
    to this node's waiters."""
    if rt.redis is not None:
        await rt.redis.listen(rt.notifier.publish)
    else:
        await pg.listen(rt.db.url, rt.notifier.publish)
