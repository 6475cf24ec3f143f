"""Liveness, readiness and metrics for load balancers, orchestrators and Prometheus."""

from __future__ import annotations

import anyio
import anyio.to_thread
import orjson
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from twostep import metrics
from twostep.api.endpoint import runtime_of
from twostep.services import health


async def healthz(_request: Request) -> Response:
    """The process is up and serving; says nothing about the database (see /readyz)."""
    return Response(b'{"status":"ok"}', media_type="application/json")


async def readyz(request: Request) -> Response:
    """200 when this node should receive traffic (``ready``, or ``degraded``: the separate worker
    fleet is silent), 503 otherwise; the checks run in a worker thread under a short timeout."""
    rt = runtime_of(request)
    own_worker = bool(getattr(request.app.state, "in_process_worker", False))
    report = health.timed_out(own_worker=own_worker)
    with anyio.move_on_after(health.READY_TIMEOUT):
        report = await anyio.to_thread.run_sync(
            lambda: health.readiness(rt, own_worker=own_worker), abandon_on_cancel=True
        )
    return Response(
        orjson.dumps(report.body()),
        status_code=200 if report.ready else 503,
        media_type="application/json",
        headers={"Cache-Control": "no-store"},
    )


async def metrics_endpoint(request: Request) -> Response:
    """Prometheus exposition; 404 unless ``metrics_enabled``, bearer ``metrics_token`` if set."""
    rt = runtime_of(request)
    s = rt.settings
    if not s.metrics_enabled:
        raise HTTPException(404)
    token = s.metrics_token.get_secret_value() if s.metrics_token else None
    if not metrics.authorized(request.headers.get("authorization"), token):
        raise HTTPException(
            401, "A valid metrics token is required", headers={"WWW-Authenticate": "Bearer"}
        )
    body = await anyio.to_thread.run_sync(metrics.exposition, health.OutboxCollector(rt))
    return Response(body, media_type=metrics.CONTENT_TYPE)


routes = [
    Route("/healthz", healthz, methods=["GET"]),
    Route("/readyz", readyz, methods=["GET"]),
    Route("/metrics", metrics_endpoint, methods=["GET"]),
]
