"""Rate limits and lockouts over a sliding window, counted in the database so every node agrees."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

from twostep import metrics
from twostep.errors import RateLimited
from twostep.services.runtime import Tx
from twostep.store import ratelimit as q


@dataclass(frozen=True, slots=True)
class Limit:
    bucket: str
    max_hits: int
    window_seconds: int


def check(tx: Tx, limit: Limit, subject: str) -> None:
    """Raise RateLimited (with the time the window frees up) if ``subject`` used up the limit."""
    since = tx.now - timedelta(seconds=limit.window_seconds)
    count, oldest = q.hits_since(tx.conn, limit.bucket, subject, since)
    if count >= limit.max_hits:
        until = (oldest or tx.now) + timedelta(seconds=limit.window_seconds)
        metrics.rate_limited(limit.bucket)
        raise RateLimited(until, limit.bucket)


def hit(tx: Tx, limit: Limit, subject: str) -> None:
    q.hit(tx.conn, limit.bucket, subject, tx.now)


def check_and_hit(tx: Tx, limit: Limit, subject: str) -> None:
    check(tx, limit, subject)
    hit(tx, limit, subject)


def reset(tx: Tx, limit: Limit, subject: str) -> None:
    q.clear(tx.conn, limit.bucket, subject)
