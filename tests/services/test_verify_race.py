"""A verification that waited for another one of the same user must see what that one accepted.
On PostgreSQL the waiting verification's query read the device seeds in a snapshot taken before
the other committed, and with batching its time-step update is held back as an assertion: the
transaction must fail there and run again, answering "reused" — never accepting the token twice,
never failing with a database error."""

from __future__ import annotations

import asyncio
import threading
import time
from pathlib import Path

from sqlalchemy import Connection, text

from tests.conftest import START
from tests.factories import user_with_device
from tests.support import make_runtime, make_settings, new_app
from twostep.clock import FrozenClock
from twostep.errors import TokenReused
from twostep.services import verify
from twostep.services.runtime import Runtime

LOCKS_WAITED_FOR = text("SELECT count(*) FROM pg_locks WHERE NOT granted")


def wait_until_blocked(rt: Runtime) -> None:
    """Until the verification waits for the rival's lock (on SQLite: the writer lock, which
    cannot be observed from outside, so a pause)."""
    if rt.db.is_sqlite:
        time.sleep(0.3)
        return
    deadline = time.monotonic() + 10
    while rt.db.run(lambda c: c.execute(LOCKS_WAITED_FOR).scalar_one(), write=False) == 0:
        assert time.monotonic() < deadline, "the verification never waited for the rival"
        time.sleep(0.01)


def test_a_token_accepted_while_the_verification_waited_is_refused_as_reused(
    database_url: str, tmp_path: Path
) -> None:
    clock = FrozenClock(START)
    rt = make_runtime(make_settings(database_url, tmp_path), clock)
    try:
        app, _key = new_app(rt)
        authy_id, device_id, token = user_with_device(rt, app)
        step = int(clock.time()) // 10
        holding, release = threading.Event(), threading.Event()

        def rival(conn: Connection) -> None:
            """Another node's verification of the same token: the user's row locked, the
            time-step taken, not yet committed."""
            lock = " FOR UPDATE" if not rt.db.is_sqlite else ""
            conn.execute(
                text(f"SELECT 1 FROM app_users WHERE app_id = :a AND person_id = :p{lock}"),
                {"a": app.id, "p": authy_id},
            )
            conn.execute(
                text("UPDATE device_seeds SET last_step = :s WHERE device_id = :d"),
                {"s": step, "d": device_id},
            )
            holding.set()
            assert release.wait(10)

        outcome: list[str] = []

        def verifying() -> None:
            async def on_a_request_thread() -> None:
                await rt.db.run_unit(
                    lambda: rt.run(lambda tx: verify.verify(tx, app, token, authy_id))
                )

            try:
                asyncio.run(on_a_request_thread())
                outcome.append("accepted")
            except TokenReused:
                outcome.append("reused")
            except Exception as exc:
                outcome.append(repr(exc))

        rival_thread = threading.Thread(target=lambda: rt.db.run(rival))
        rival_thread.start()
        assert holding.wait(10)
        verifier = threading.Thread(target=verifying)
        verifier.start()
        wait_until_blocked(rt)
        release.set()
        rival_thread.join(10)
        verifier.join(10)
        assert outcome == ["reused"]
    finally:
        rt.db.dispose()
