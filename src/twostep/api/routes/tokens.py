"""One-time codes (spec §4): T1 sms, T2 call, T3 email, T4 verify; U5 secret and its QR image."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from twostep.api.endpoint import Body, Call, authy, public
from twostep.services import codes, secrets, verify
from twostep.services.runtime import Tx

P = "/protected/{format}"

SMS_IGNORED = (
    "Ignored: SMS is not needed for smartphones. Pass force=true if you want to actually send it "
    "anyway."
)
CALL_IGNORED = (
    "Call ignored. User is using  App Tokens and this call is not necessary. Pass force=true if you "
    "still want to call users that are using the App."
)


def _send(call: Call, channel: codes.Channel) -> codes.SendOutcome:
    p = call.params
    return codes.send(
        call.tx,
        call.app,
        call.path["authy_id"],
        channel,
        force=p.flag("force"),
        action=p.text("action", max_length=255),
        action_message=p.text("action_message", max_length=255),
        locale=p.text("locale", max_length=16),
    )


def request_sms(call: Call) -> Body:
    sent = _send(call, "sms")
    if sent.ignored:
        return {
            "message": SMS_IGNORED,
            "cellphone": sent.cellphone,
            "device": sent.device,
            "ignored": True,
            "success": True,
        }
    return {"success": True, "message": "SMS token was sent", "cellphone": sent.cellphone}


def request_call(call: Call) -> Body:
    sent = _send(call, "call")
    if sent.ignored:
        return {
            "message": CALL_IGNORED,
            "cellphone": sent.cellphone,
            "device": sent.device,
            "ignored": True,
            "success": True,
        }
    return {"success": True, "message": "Call started...", "cellphone": sent.cellphone}


def request_email(call: Call) -> Body:
    sent = _send(call, "email")
    return {
        "success": True,
        "message": "Email token was sent",
        "email": sent.email,
        "email_id": sent.email_id,
    }


def verify_token(call: Call) -> Body:
    p = call.params
    verified = verify.verify(
        call.tx,
        call.app,
        call.path["token"],
        call.path["authy_id"],
        force=p.flag("force"),
        action=p.text("action", max_length=255),
    )
    return {
        "message": "Token is valid.",
        "token": "is valid",
        "success": "true",
        "device": verified.device,
    }


def user_secret(call: Call) -> Body:
    p = call.params
    link = secrets.qr_link(
        call.tx,
        call.app,
        call.path["authy_id"],
        label=p.text("label", max_length=255) or "",
        size=p.integer("qr_size", minimum=1, maximum=10_000),
    )
    return {"label": link.label, "issuer": link.issuer, "qr_code": link.url, "success": True}


def qr_image(tx: Tx, request: Request) -> Response:
    png = secrets.qr_png(tx, request.path_params["token"])
    return Response(png, media_type="image/png", headers={"Cache-Control": "no-store"})


routes = [
    Route(f"{P}/verify/{{token}}/{{authy_id}}", authy(verify_token, inline=True), methods=["GET"]),
    Route(f"{P}/sms/{{authy_id}}", authy(request_sms, inline=True), methods=["GET"]),
    Route(f"{P}/call/{{authy_id}}", authy(request_call, inline=True), methods=["GET"]),
    Route(f"{P}/email/{{authy_id}}", authy(request_email, inline=True), methods=["POST"]),
    Route(f"{P}/users/{{authy_id}}/secret", authy(user_secret), methods=["POST"]),
    Route("/qr/{token}.png", public(qr_image, write=False), methods=["GET"]),
]
