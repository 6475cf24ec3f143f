"""Housekeeping run by the worker. ``frequent`` keeps time-based state exact (approval requests
expire within seconds of their deadline even if nobody polls); ``periodic`` cleans up."""

from __future__ import annotations

from datetime import timedelta

from twostep.services import (
    approvals,
    device_auth,
    health,
    phones,
    recovery,
    stats,
    users,
    webhooks,
)
from twostep.services.runtime import Runtime
from twostep.store import codes as code_q
from twostep.store import ratelimit as rate_q

RATE_HISTORY = timedelta(days=1)


def frequent(rt: Runtime) -> dict[str, int]:
    stats.flush(rt)  # the monthly counters this process (and an in-process API) gathered
    return {
        "approvals_expired": rt.run(approvals.expire_due),
        "recoveries_activated": rt.run(recovery.activate_due),
    }


def periodic(rt: Runtime) -> dict[str, int]:
    purged = rt.run(users.purge_due)
    expired = rt.run(lambda tx: code_q.delete_expired_codes(tx.conn, tx.now))
    forgotten = rt.run(lambda tx: rate_q.forget_before(tx.conn, tx.now - RATE_HISTORY))
    return {
        "users_purged": purged,
        "codes_expired": expired,
        "rate_hits_forgotten": forgotten,
        "nonces_forgotten": rt.run(device_auth.forget_nonces),
        "api_nonces_forgotten": rt.run(webhooks.forget_nonces),
        "phone_verifications_purged": rt.run(phones.purge_stale),
        "heartbeats_pruned": rt.run(health.prune_heartbeats),
    }


def run(rt: Runtime) -> dict[str, int]:
    return {**frequent(rt), **periodic(rt)}
