"""Rate limits and lockouts over a sliding window, counted where every node sees them: in the
database, or in Redis when one is configured."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

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
    redis = tx.rt.redis
    if redis is None:
        count, oldest = q.hits_since(tx.conn, limit.bucket, subject, since)
    else:
        count, oldest = redis.hits_since(limit.bucket, subject, since)
    refuse_if_exhausted(tx, limit, count, oldest)


def refuse_if_exhausted(tx: Tx, limit: Limit, count: int, oldest: datetime | None) -> None:
    """``check``'s decision, for hits counted elsewhere (in the query that loads the subject)."""
    if count >= limit.max_hits:
        until = (oldest or tx.now) + timedelta(seconds=limit.window_seconds)
        metrics.rate_limited(limit.bucket)
        raise RateLimited(until, limit.bucket)


def hit(tx: Tx, limit: Limit, subject: str) -> None:
    if tx.rt.redis is None:
        q.hit(tx.conn, limit.bucket, subject, tx.now)
    else:
        tx.rt.redis.hit(limit.bucket, subject, tx.now, limit.window_seconds)


def check_and_hit(tx: Tx, limit: Limit, subject: str) -> None:
    check(tx, limit, subject)
    hit(tx, limit, subject)


def reset(tx: Tx, limit: Limit, subject: str) -> None:
    if tx.rt.redis is None:
        q.clear(tx.conn, limit.bucket, subject)
    else:
        tx.rt.redis.clear(limit.bucket, subject)
