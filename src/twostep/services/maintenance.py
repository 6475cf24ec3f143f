"""Periodic housekeeping run by the worker: finish user deletions, drop expired codes and old
rate-limit records."""

from __future__ import annotations

from datetime import timedelta

from twostep.services import users
from twostep.services.runtime import Runtime
from twostep.store import codes as code_q
from twostep.store import ratelimit as rate_q

RATE_HISTORY = timedelta(days=1)


def run(rt: Runtime) -> dict[str, int]:
    purged = rt.run(users.purge_due)
    expired = rt.run(lambda tx: code_q.delete_expired_codes(tx.conn, tx.now))
    forgotten = rt.run(lambda tx: rate_q.forget_before(tx.conn, tx.now - RATE_HISTORY))
    return {"users_purged": purged, "codes_expired": expired, "rate_hits_forgotten": forgotten}
