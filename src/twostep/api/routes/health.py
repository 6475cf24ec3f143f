"""Liveness for load balancers and orchestrators."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def healthz(_request: Request) -> Response:
    """The process is up and serving; says nothing about the database (see /readyz)."""
    return Response(b'{"status":"ok"}', media_type="application/json")


routes = [Route("/healthz", healthz, methods=["GET"])]
