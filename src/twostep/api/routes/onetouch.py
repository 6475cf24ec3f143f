"""OneTouch (spec §5): O1 create an approval request, O2 read it (with the ``wait`` long-poll
extension, which returns as soon as the status changes, on whichever node it changed)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from starlette.routing import Route

from twostep.api.endpoint import Body, Call, authy, long_poll
from twostep.services import approvals

P = "/onetouch/{format}"


def create_request(call: Call) -> Body:
    p = call.params
    new = approvals.validate(
        p.text("message", max_length=approvals.MAX_MESSAGE * 4),
        p.mapping("details"),
        p.mapping("hidden_details"),
        p.array("logos"),
        p.integer("seconds_to_expire"),
    )
    created = approvals.create(call.tx, call.app, call.path["authy_id"], new)
    request: dict[str, Any] = {"uuid": created.uuid}
    if created.number is not None:
        request["number"] = created.number
    return {"approval_request": request, "success": True}


def _iso(value: datetime | None) -> str | None:
    return value.strftime("%Y-%m-%dT%H:%M:%SZ") if value is not None else None


def request_status(call: Call) -> Body:
    found = approvals.get(call.tx, call.app, call.path["uuid"])
    row = found.row
    return {
        "approval_request": {
            "_app_name": row.app_name,
            "_app_serial_id": row.app_id,
            "_authy_id": row.person_id,
            "_id": row.public_id,
            "_user_email": row.user_email or approvals.REMOVED_USER_EMAIL,
            "app_id": row.app_public_id,
            "created_at": _iso(row.created_at),
            "notified": bool(row.notified),
            "processed_at": _iso(found.processed_at),
            "seconds_to_expire": row.seconds_to_expire,
            "status": found.status,
            "updated_at": _iso(
                found.processed_at if found.status != row.status else row.updated_at
            ),
            "user_id": row.user_public_id or row.public_id,
            "uuid": row.uuid,
        },
        "success": True,
    }


def _still_pending(body: Body) -> str | None:
    request = body["approval_request"]
    return f"approval:{request['uuid']}" if request["status"] == "pending" else None


routes = [
    Route(
        f"{P}/users/{{authy_id}}/approval_requests",
        authy(create_request, inline=True),
        methods=["POST"],
    ),
    Route(
        f"{P}/approval_requests/{{uuid}}",
        long_poll(request_status, _still_pending),
        methods=["GET"],
    ),
]
