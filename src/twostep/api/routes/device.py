"""The device protocol, /device/v1 (docs/device-protocol.md): enrolment by PIN or link (§2), then
signed requests (§3, §4): accounts, approval requests (list, long poll, stream, answer), recovery
enrolments, push address, revocation."""

from __future__ import annotations

from collections.abc import Callable

from starlette.routing import Route

from twostep.api.device_endpoint import (
    DeviceCall,
    DeviceEndpoint,
    PublicCall,
    Result,
    device_endpoint,
    device_long_poll,
    device_public,
)
from twostep.api.device_stream import stream
from twostep.api.endpoint import Body
from twostep.api.wire.params import Params
from twostep.core import crypto
from twostep.errors import InvalidParameter
from twostep.services import approvals, device_inbox, device_seeds, devices, enrollment, recovery
from twostep.services.device_auth import ANY_STATUS
from twostep.services.device_model import Device
from twostep.services.runtime import Tx

P = "/device/v1"


def _new_device(p: Params) -> devices.NewDevice:
    return devices.parse_new_device(
        p.text("public_key", max_length=128),
        p.text("name", max_length=devices.MAX_NAME * 4),
        p.text("os_type", max_length=64),
        p.any("push_address"),
    )


def _enrolled(done: enrollment.Enrolled) -> Result:
    body: Body = {"status": done.status, "device": devices.view(done.device)}
    if done.activates_at is not None:
        body["activates_at"] = int(done.activates_at.timestamp())
        return 202, {**body, "success": True}
    return {**body, "accounts": done.accounts, "success": True}


def start_enrollment(call: PublicCall) -> Result:
    p = call.params
    started = enrollment.start(
        call.tx,
        country_code=p.any("country_code"),
        phone_number=p.any("phone_number"),
        via=p.text("via", max_length=8),
        locale=p.text("locale", max_length=16),
    )
    return {
        "enrollment_id": started.enrollment_id,
        "expires_in": started.expires_in,
        "success": True,
    }


def confirm_enrollment(call: PublicCall) -> Result:
    p = call.params
    new = _new_device(p)
    pin = p.text("pin", required=True, max_length=32) or ""
    done = enrollment.confirm(call.tx, call.path["enrollment_id"], pin, new, call.client_ip)
    return _enrolled(done)


def redeem_link(call: PublicCall) -> Result:
    new = _new_device(call.params)
    return _enrolled(enrollment.redeem_link(call.tx, call.path["token"], new, call.client_ip))


def enrollment_status(call: DeviceCall) -> Result:
    found = recovery.status(call.tx, call.device, call.path["enrollment_id"])
    return {**found, "success": True}


def pending_enrollments(call: DeviceCall) -> Result:
    return {"enrollments": recovery.awaiting(call.tx, call.device), "success": True}


def approve_enrollment(call: DeviceCall) -> Result:
    decided = recovery.approve(call.tx, call.device, call.path["enrollment_id"])
    return {"enrollment": decided, "success": True}


def cancel_enrollment(call: DeviceCall) -> Result:
    decided = recovery.cancel(call.tx, call.device, call.path["enrollment_id"])
    return {"enrollment": decided, "success": True}


def accounts(call: DeviceCall) -> Result:
    return {"accounts": device_seeds.accounts(call.tx, call.device.id), "success": True}


def approval_requests(tx: Tx, device: Device, p: Params) -> Body:
    found = device_inbox.approval_requests(tx, device, p.text("status", max_length=16))
    return {"approval_requests": found, "success": True}


def _has_requests(body: Body) -> bool:
    return bool(body["approval_requests"])


def answer_request(call: DeviceCall) -> Result:
    p = call.params
    try:
        signature = crypto.from_b64url(p.text("signature", required=True, max_length=256) or "")
    except ValueError:
        raise InvalidParameter("signature", "Must be base64url") from None
    answered = approvals.answer(
        call.tx,
        call.device,
        call.path["uuid"],
        status=p.text("status", required=True, max_length=16) or "",
        signed_at=p.integer("signed_at", required=True) or 0,
        number=p.text("number", max_length=8),
        signature=signature,
    )
    return {"approval_request": approvals.device_view(answered.row), "success": True}


def push_address(call: DeviceCall) -> Result:
    if "push_address" not in call.params.raw:
        raise InvalidParameter("push_address", "Parameter is required (null removes it)")
    devices.set_push_address(call.tx, call.device, call.params.raw["push_address"])
    return {"success": True}


def revoke_device(call: DeviceCall) -> Result:
    devices.revoke_self(call.tx, call.device)
    return {"success": True}


def _any(handler: Callable[[DeviceCall], Result]) -> DeviceEndpoint:
    return device_endpoint(handler, allow=ANY_STATUS)


routes = [
    Route(f"{P}/enrollments", device_public(start_enrollment), methods=["POST"]),
    Route(f"{P}/enrollments", device_endpoint(pending_enrollments), methods=["GET"]),
    Route(
        f"{P}/enrollments/{{enrollment_id}}/confirm",
        device_public(confirm_enrollment),
        methods=["POST"],
    ),
    Route(f"{P}/enrollments/{{enrollment_id}}", _any(enrollment_status), methods=["GET"]),
    Route(
        f"{P}/enrollments/{{enrollment_id}}/approve",
        device_endpoint(approve_enrollment),
        methods=["POST"],
    ),
    Route(
        f"{P}/enrollments/{{enrollment_id}}/cancel",
        device_endpoint(cancel_enrollment),
        methods=["POST"],
    ),
    Route(f"{P}/links/{{token}}", device_public(redeem_link), methods=["POST"]),
    Route(f"{P}/accounts", device_endpoint(accounts), methods=["GET"]),
    Route(f"{P}/approval_requests/stream", stream, methods=["GET"]),
    Route(
        f"{P}/approval_requests",
        device_long_poll(approval_requests, _has_requests),
        methods=["GET"],
    ),
    Route(
        f"{P}/approval_requests/{{uuid}}",
        device_endpoint(answer_request, inline=True),
        methods=["POST"],
    ),
    Route(f"{P}/push_address", device_endpoint(push_address), methods=["PUT"]),
    Route(f"{P}/device", device_endpoint(revoke_device), methods=["DELETE"]),
]
