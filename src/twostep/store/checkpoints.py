"""WAL checkpoints for the inline SQLite connection (store/db.py), which never checkpoints itself:
a checkpoint syncs files to disk, which must not happen on the event loop. Instead, after every
``every`` inline units a thread of its own checkpoints, as SQLite's automatic checkpoint at
commit would, so that the WAL stays as small."""

from __future__ import annotations

import logging
import threading

from sqlalchemy import Engine

from twostep.store.writer_lock import WriterLock

log = logging.getLogger("twostep.db")
UNITS_PER_CHECKPOINT = 1000


class Checkpoints:
    def __init__(self, engine: Engine, writer: WriterLock) -> None:
        self.engine, self.writer = engine, writer
        self.every = UNITS_PER_CHECKPOINT
        # set while the last pass waits for the writer lock: the loop must not take it then
        self.wants_lock = False
        self._units = 0
        self._running = False

    def count_unit(self) -> None:
        """Count an inline unit; start a checkpoint every ``every`` units."""
        self._units += 1
        if self._units >= self.every and not self._running:
            self._units = 0
            self._running = True
            # its own thread, so that it starts at once, not behind queued requests
            threading.Thread(target=self._checkpoint, name="twostep-checkpoint").start()

    def _checkpoint(self) -> None:
        """Copy the WAL into the database file as far as readers allow, without waiting for them
        (PASSIVE), in two passes. The first copies the bulk while units go on writing; the second
        copies what they wrote meanwhile holding this process's writer lock, as an automatic
        checkpoint at commit would, so that it catches up with every write and the next writer
        starts the WAL afresh (inline units wait on the loop during that short pass only)."""
        try:
            with self.engine.connect() as conn:
                driver = conn.connection.dbapi_connection
                assert driver is not None
                driver.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                self.wants_lock = True  # the loop stops taking the lock, so this gets it
                try:
                    with self.writer:
                        driver.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                finally:
                    self.wants_lock = False
                    self.writer.wake()
        except Exception:  # the next one will try again; the WAL only grows meanwhile
            log.warning("WAL checkpoint failed", exc_info=True)
        finally:
            self._running = False
