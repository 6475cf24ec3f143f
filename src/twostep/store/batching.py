"""PostgreSQL transactions in as few round trips as the work allows.

A request's transaction used to cost a round trip per statement, ``BEGIN`` and ``COMMIT``
included: six for a valid verification, eight for an SMS. Each costs the client ~35 µs of system
calls and libpq and ~30 µs of psycopg, and leaves a request thread waiting on the network and then
for the GIL the busy event loop holds. Two kinds of message need no answer before the next one:

- ``BEGIN``: held back, and sent with the transaction's first statement;
- writes whose result the code does not read (the audit record, a rate-limit hit, a NOTIFY),
  handed to ``raw.later``: held back, and sent with the next statement or with ``COMMIT``.

Held-back messages go out in front of the next statement as one multi-statement query (the simple
query protocol), in order, so every statement still sees every write before it, and an error in
any of them fails the transaction as before (it is raised with the statement or the ``COMMIT`` it
travelled with, not where the write was made). A savepoint's ``SAVEPOINT`` and ``RELEASE`` are
held back too, and a block that fails before anything of it was sent just drops its held-back
writes (store/raw.py). A transaction that sent nothing ends without a round trip.

Every statement of such a transaction that goes through ``raw`` runs as ``EXECUTE`` of a
statement the connection prepared the first time it sent it (``PREPARE`` travels in the batch),
with the values inlined by psycopg's client-side binding: planned once (inlining the values in the
statement instead made PostgreSQL plan the user query every time: +300 µs of its CPU a
verification). psycopg's own prepared statements are off on these connections: psycopg sends
``DEALLOCATE ALL`` after any rollback, which would drop ours too. Nothing else deallocates on
them. psycopg's pipeline mode would keep bound parameters but measured no cheaper: entering and
leaving it costs ~50 µs of Python and a round trip of its own.

This needs the driver connection in autocommit mode, with the transaction begun and ended here
(store/db.py does this for the request threads' kept connections); elsewhere (SQLite, pooled
connections) ``Pending`` is absent and statements run at once."""

from __future__ import annotations

import functools
import itertools
import re
import threading
import weakref
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import Any

import psycopg
from sqlalchemy import Connection
from sqlalchemy.exc import DBAPIError

from twostep.store.driver_errors import reraise, translated

KEY = "twostep.pending"  # in Connection.info while a batched transaction is open


class Pending:
    """What an open transaction has not sent yet."""

    __slots__ = ("begin", "sent", "writes")

    def __init__(self) -> None:
        self.begin = True
        self.writes: list[tuple[str, Any]] = []
        self.sent = 0  # held-back writes taken into batches so far

    def due(self) -> bool:
        return self.begin or bool(self.writes)

    def hold(self, sql: str) -> int:
        """Hold back a statement without parameters; its place among all the held-back writes."""
        self.writes.append((sql, ()))
        return self.sent + len(self.writes) - 1

    def unsent(self, place: int) -> int | None:
        """Where the write held back at ``place`` is in ``writes``; None once it was sent."""
        index = place - self.sent
        return index if index >= 0 else None

    def take(self, batch: _Batch) -> None:
        """Add the held-back messages to ``batch``; no longer held."""
        if self.begin:
            batch.texts.append("BEGIN")
            self.begin = False
        for sql, params in self.writes:
            batch.add(sql, params)
        self.sent += len(self.writes)
        self.writes.clear()


class _Batch:
    """Statements for one round trip: SQL text, each statement an EXECUTE of a prepared one, with
    ``%s`` where its values go, all bound by psycopg in one go when the batch runs (binding each
    statement's on its own, with ``mogrify``, cost a few µs more per statement)."""

    def __init__(self, driver: Any, cursor: psycopg.ClientCursor[Any]) -> None:
        self.cursor = cursor
        self.prepared = _prepared_on(driver)
        self.texts: list[str] = []
        self.values: list[Any] = []
        self.new: list[tuple[str, str]] = []  # prepared by this batch, once it has run

    def add(self, sql: str, params: Any) -> None:
        shape = _shape(sql)
        values = shape.values(params)
        if not values:  # SAVEPOINT and the like cannot be prepared; nothing to plan anyway
            self.texts.append(shape.literal)
            return
        name = self.prepared.get(sql)
        if name is None:
            name = f"twostep_{next(_names)}"
            self.texts.append(f"PREPARE {name} AS {shape.literal}")
            self.new.append((sql, name))
        self.texts.append(f"EXECUTE {name}{_args(len(values))}")
        self.values += values

    def run(self) -> None:
        self.cursor.execute("; ".join(self.texts), self.values)  # [] too: "%%" stands for "%"
        # A PREPARE is not undone by a rollback, but one in a batch that failed may not have
        # run: such a statement is prepared again, under a new name, next time.
        self.prepared.update(self.new)


class _Shape:
    """A statement with ``%s`` or ``%(name)s`` placeholders as PREPARE takes it (``$1``...), and
    how to put its parameters in that order."""

    __slots__ = ("literal", "names", "text")

    def __init__(self, sql: str) -> None:
        names: list[str] = []
        positional = 0

        def number(match: re.Match[str]) -> str:
            nonlocal positional
            if match.group(0) == "%%":
                return "%"
            name = match.group(1)
            if name is None:
                positional += 1
                return f"${positional}"
            if name not in names:
                names.append(name)
            return f"${names.index(name) + 1}"

        self.text = _PLACEHOLDER.sub(number, sql)
        self.names: tuple[str, ...] | None = tuple(names) if names else None
        self.literal = self.text.replace("%", "%%")  # as text in a batch psycopg binds

    def values(self, params: Any) -> Sequence[Any]:
        if self.names is None:
            return tuple(params or ())
        mapping: Mapping[str, Any] = params
        return tuple(mapping[name] for name in self.names)


_PLACEHOLDER = re.compile(r"%\((\w+)\)s|%s|%%")
_names = itertools.count(1)
_shapes: dict[str, _Shape] = {}
# statements prepared on each driver connection (keyed on the connection itself: SQLAlchemy's
# Connection.info outlives a reconnect, and a new connection has nothing prepared). The hot path's
# statements are module constants (store/*.py), so each connection prepares a bounded set.
_prepared: weakref.WeakKeyDictionary[Any, dict[str, str]] = weakref.WeakKeyDictionary()
_prepared_lock = threading.Lock()  # request threads add their connections concurrently


def _shape(sql: str) -> _Shape:
    shape = _shapes.get(sql)
    if shape is None:
        shape = _shapes[sql] = _Shape(sql)
    return shape


@functools.cache
def _args(count: int) -> str:
    return f"({', '.join(['%s'] * count)})"


def _prepared_on(driver: Any) -> dict[str, str]:
    found = _prepared.get(driver)
    if found is None:
        with _prepared_lock:
            found = _prepared.setdefault(driver, {})
    return found


@contextmanager
def transaction(conn: Connection, forget: Callable[[Connection], None]) -> Iterator[None]:
    """A transaction on ``conn`` (its driver in autocommit), begun and ended here. A Core
    statement run inside sends what was held back first (store/engine.py) and makes SQLAlchemy
    begin a transaction of its own on paper, which is ended with ours. ``forget`` drops a
    connection that is no longer fit for use."""
    driver: Any = conn.connection.dbapi_connection
    state = start(conn)
    try:
        yield
    except BaseException as exc:
        stop(conn)
        if isinstance(exc, DBAPIError) and exc.connection_invalidated:
            forget(conn)
        else:
            _end(conn, driver, state, forget, commit=False)
        raise
    stop(conn)
    _end(conn, driver, state, forget, commit=True)


def _end(
    conn: Connection,
    driver: Any,
    state: Pending,
    forget: Callable[[Connection], None],
    *,
    commit: bool,
) -> None:
    try:
        if commit:
            _commit(driver, state)
        else:
            _rollback(driver, state)
        if conn.in_transaction():  # SQLAlchemy's bookkeeping: the driver's part is done
            conn.commit() if commit else conn.rollback()
    except Exception as exc:  # noqa: BLE001 - raised again unless rolling back for another error
        # A held-back write refused at COMMIT (a constraint, say) leaves a connection that only
        # needs its transaction rolled back; anything worse and it is not used again.
        error = translated(conn, driver, exc, "COMMIT") if commit else exc
        if conn.invalidated or not _rolled_back(conn, driver):
            forget(conn)
        if not commit:
            return  # the error that made us roll back is the one to report
        reraise(error, exc)


def _rolled_back(conn: Connection, driver: Any) -> bool:
    try:
        driver.rollback()
        if conn.in_transaction():
            conn.rollback()
    except Exception:  # noqa: BLE001 - any failure means: use another connection
        return False
    return True


def pending(conn: Connection) -> Pending | None:
    found: Pending | None = conn.info.get(KEY)
    return found


def start(conn: Connection) -> Pending:
    state = conn.info[KEY] = Pending()
    return state


def stop(conn: Connection) -> None:
    conn.info.pop(KEY, None)


def send_with(driver: Any, state: Pending, sql: str, params: Any) -> Any:
    """Run ``sql`` after the held-back messages, if any, all in one round trip; its cursor, on
    its result."""
    cursor = psycopg.ClientCursor(driver)
    try:
        batch = _Batch(driver, cursor)
        state.take(batch)
        batch.add(sql, params)
        batch.run()
        while cursor.nextset():  # on to the last statement's result
            pass
    except BaseException:
        cursor.close()
        raise
    return cursor


def flush(driver: Any, state: Pending) -> None:
    """Send the held-back messages now (before a statement that does not come through here)."""
    _send(driver, state, [])


def _commit(driver: Any, state: Pending) -> None:
    """Commit, with the held-back writes in the same round trip. Nothing sent, nothing to do."""
    if state.writes:
        _send(driver, state, ["COMMIT"])
    elif not state.begin:
        driver.commit()


def _rollback(driver: Any, state: Pending) -> None:
    """Forget what was held back; roll back what was sent."""
    state.writes.clear()
    if not state.begin:
        driver.rollback()


def _send(driver: Any, state: Pending, tail: list[str]) -> None:
    with psycopg.ClientCursor(driver) as cursor:
        batch = _Batch(driver, cursor)
        state.take(batch)
        batch.texts += tail
        batch.run()
