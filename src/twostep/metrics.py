"""Prometheus metrics of a TwoStep process, defined once here and recorded by the HTTP middleware,
the services and the worker. This module imports nothing from the project, so every layer may call
it; metrics computed from the database at scrape time are collectors built elsewhere
(``services.health.OutboxCollector``) and passed to ``exposition``.

Several processes (``twostep serve --workers N``): prometheus_client's multiprocess mode. The
library chooses it *when it is imported*, from ``PROMETHEUS_MULTIPROC_DIR``; ``twostep serve``
sets that variable (``prepare_multiprocess_dir``) before uvicorn spawns its processes, each process
writes its samples to files there, and a scrape answered by any of them reads them all."""

from __future__ import annotations

import hmac
import os
import shutil
import tempfile
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Protocol

from prometheus_client import REGISTRY, CollectorRegistry, Counter, Histogram
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4

VERIFICATION_RESULTS = ("accepted", "invalid", "reused", "locked_out", "unchecked")
APPROVAL_TRANSITIONS = ("created", "approved", "denied", "expired")
DELIVERY_RESULTS = ("ok", "retry", "dead")  # delivered; failed, tried again later; given up
METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
UNMATCHED = "unmatched"  # the route label of requests that matched no route (raw paths hold tokens)

_HTTP_LABELS = ("method", "route", "status")
_DELIVERY_LABELS = ("channel", "provider", "result")

HTTP_REQUESTS = Counter("twostep_http_requests", "HTTP requests answered.", _HTTP_LABELS)
HTTP_DURATION = Histogram(
    "twostep_http_request_duration_seconds",
    "Time from the request to the end of the response (long polls and streams included).",
    _HTTP_LABELS,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300),
)
VERIFICATIONS = Counter(
    "twostep_verifications", "Token verifications by result (committed).", ["result"]
)
APPROVALS = Counter(
    "twostep_approval_requests",
    "OneTouch approval requests by status transition (committed).",
    ["transition"],
)
RATE_LIMITED = Counter(
    "twostep_rate_limited", "Requests refused by a rate limit or lockout.", ["bucket"]
)
DELIVERIES = Counter(
    "twostep_deliveries",
    "Outbox delivery attempts by channel (the job kind), provider and result.",
    _DELIVERY_LABELS,
)
DELIVERY_DURATION = Histogram(
    "twostep_delivery_duration_seconds",
    "Time of one delivery attempt.",
    _DELIVERY_LABELS,
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60),
)

# Label values known in advance exist from the start (at 0), so rates and alerts work before the
# first event; children are looked up once, not on every call.
_VERIFY = {result: VERIFICATIONS.labels(result) for result in VERIFICATION_RESULTS}
_APPROVAL = {name: APPROVALS.labels(name) for name in APPROVAL_TRANSITIONS}
for _result in DELIVERY_RESULTS:
    DELIVERIES.labels("callback", "callback", _result)


class _Tx(Protocol):
    """A unit of work whose hooks run once it commits (``services.runtime.Tx``)."""

    after_commit: list[Callable[[], None]]


def verification(tx: _Tx, result: str) -> None:
    """Count a verification outcome when its transaction commits."""
    series = _VERIFY.get(result) or VERIFICATIONS.labels(result)
    tx.after_commit.append(series.inc)


def approval(tx: _Tx, transition: str, count: int = 1) -> None:
    """Count approval-request transitions when their transaction commits."""
    if count:
        series = _APPROVAL.get(transition) or APPROVALS.labels(transition)
        tx.after_commit.append(lambda: series.inc(count))


def rate_limited(bucket: str) -> None:
    """A refusal by a rate limit (counted at once: the refusal stands even if nothing commits)."""
    RATE_LIMITED.labels(bucket).inc()


def delivery(channel: str, provider: str, result: str, seconds: float) -> None:
    DELIVERIES.labels(channel, provider, result).inc()
    DELIVERY_DURATION.labels(channel, provider, result).observe(seconds)


_request_series: dict[tuple[str, str, int], tuple[Callable[[], None], Callable[[float], None]]] = {}


def request(method: str, route: str, status: int, seconds: float) -> None:
    """One answered HTTP request (called by the request middleware; kept cheap)."""
    key = (method, route, status)
    series = _request_series.get(key)
    if series is None:
        labels = (method if method in METHODS else "other", route, str(status))
        series = (
            HTTP_REQUESTS.labels(*labels).inc,
            HTTP_DURATION.labels(*labels).observe,
        )
        _request_series[key] = series
    series[0]()
    series[1](seconds)


# --- exposition -----------------------------------------------------------------------------------


def multiprocess() -> bool:
    return MULTIPROC_ENV in os.environ


class _Scrape(Collector):
    def __init__(self, sources: Iterable[Collector]) -> None:
        self.sources = list(sources)

    def collect(self) -> Iterator[Metric]:
        for source in self.sources:
            yield from source.collect()


def exposition(*extra: Collector) -> bytes:
    """The text exposition of this process's metrics (of every process sharing the multiprocess
    directory, in multiprocess mode) and of ``extra`` collectors. Blocking: call it off the event
    loop when a collector queries the database."""
    if multiprocess():
        base: Collector = CollectorRegistry()
        MultiProcessCollector(base)  # type: ignore[no-untyped-call]
    else:
        base = REGISTRY
    return generate_latest(_Scrape([base, *extra]))


def authorized(authorization: str | None, token: str | None) -> bool:
    """Whether an ``Authorization`` header satisfies the metrics token (none configured: yes)."""
    if token is None:
        return True
    scheme, _, given = (authorization or "").partition(" ")
    return scheme.lower() == "bearer" and hmac.compare_digest(
        given.strip().encode(), token.encode()
    )


def prepare_multiprocess_dir() -> Callable[[], None]:
    """Before spawning server processes: use ``PROMETHEUS_MULTIPROC_DIR`` if set (emptied of
    other processes' files from an earlier run), else a new temporary directory. Returns the
    clean-up to run once the processes have exited."""
    given = os.environ.get(MULTIPROC_ENV)
    if given:
        path = Path(given)
        path.mkdir(parents=True, exist_ok=True)
        own = f"_{os.getpid()}.db"
        for stale in path.glob("*.db"):
            if not stale.name.endswith(own):
                stale.unlink(missing_ok=True)
        return lambda: None
    created = tempfile.mkdtemp(prefix="twostep-metrics-")
    os.environ[MULTIPROC_ENV] = created
    return lambda: shutil.rmtree(created, ignore_errors=True)
