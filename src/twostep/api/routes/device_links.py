"""Extensions of the Authy API for customer applications (API key): a one-time device enrolment
link for a user (docs/device-protocol.md §2.2) with its QR image, and removing one of the user's
devices from the application."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from twostep.api.endpoint import Body, Call, authy, public
from twostep.services import devices, enrollment
from twostep.services.runtime import Tx

P = "/protected/{format}"


def enrollment_link(call: Call) -> Body:
    link = enrollment.create_link(call.tx, call.app, call.path["authy_id"])
    return {
        "enrollment_url": link.url,
        "qr_code": link.qr_url,
        "expires_at": int(link.expires_at.timestamp()),
        "success": True,
    }


def remove_device(call: Call) -> Body:
    devices.revoke_for_app(call.tx, call.app, call.path["authy_id"], call.path["device_id"])
    return {"message": "Device removed from the user in this application.", "success": True}


def link_qr(tx: Tx, request: Request) -> Response:
    png = enrollment.link_qr_png(tx, request.path_params["token"])
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


routes = [
    Route(f"{P}/users/{{authy_id}}/enrollment_link", authy(enrollment_link), methods=["POST"]),
    Route(
        f"{P}/users/{{authy_id}}/devices/{{device_id}}/remove",
        authy(remove_device),
        methods=["POST"],
    ),
    Route("/device/v1/links/{token}/qr.png", public(link_qr, write=False), methods=["GET"]),
]
