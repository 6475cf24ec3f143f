"""The admin API (bearer token): what the development provider recorded, the outbox queue."""

from __future__ import annotations

import hmac

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from twostep.api.endpoint import public, respond
from twostep.errors import InvalidApiKey, InvalidParameter
from twostep.services import jobs
from twostep.services.runtime import Tx


def _require_admin(tx: Tx, request: Request) -> None:
    token = tx.rt.admin_token
    given = request.headers.get("authorization", "")
    scheme, _, value = given.partition(" ")
    if (
        not token
        or scheme.lower() != "bearer"
        or not hmac.compare_digest(value.strip().encode(), token.encode())
    ):
        raise InvalidApiKey


def _limit(request: Request) -> int:
    text = request.query_params.get("limit", "50")
    if not text.isdigit() or not 1 <= int(text) <= 1000:
        raise InvalidParameter("limit", "Must be between 1 and 1000")
    return int(text)


def outbox_messages(tx: Tx, request: Request) -> Response:
    _require_admin(tx, request)
    found = jobs.dev_messages(tx, request.query_params.get("to") or None, _limit(request))
    return respond(200, {"messages": [m.as_json() for m in found], "success": True}, "json")


def outbox_jobs(tx: Tx, request: Request) -> Response:
    _require_admin(tx, request)
    status = request.query_params.get("status") or None
    if status not in (None, "pending", "done", "dead"):
        raise InvalidParameter("status", "Must be one of pending, done, dead")
    found = jobs.list_jobs(
        tx, status=status, kind=request.query_params.get("kind") or None, limit=_limit(request)
    )
    return respond(200, {"jobs": found, "success": True}, "json")


routes = [
    Route("/admin/outbox/messages", public(outbox_messages), methods=["GET"]),
    Route("/admin/outbox/jobs", public(outbox_jobs), methods=["GET"]),
]
