"""What each thread keeps of the database between transactions (store/db.py): its connection,
and what the unit it runs is doing."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from sqlalchemy import Connection

if TYPE_CHECKING:
    from twostep.store.commit_group import CommitGroup


class Slot:
    """A connection kept between transactions, and when it was last used."""

    def __init__(self) -> None:
        self.conn: Connection | None = None
        self.used_at = 0.0
        self.in_transaction = False  # one begun on the driver (Database._sqlite_transaction)


class Held(threading.local):
    """Per thread: its kept connection and the kind of unit it is running."""

    keep: bool = False  # a request thread of ours: it keeps its connection between transactions
    inline: bool = False  # an event loop's thread, running a unit of work that must not wait
    write: bool = True  # read by the SQLite begin hook: BEGIN IMMEDIATE or plain BEGIN
    group: CommitGroup | None = None  # the commit group the running inline unit is in
    lock_passed: bool = False  # its transaction handed the writer lock to a new commit group

    def __init__(self) -> None:
        self.own = Slot()  # this thread's kept connection
