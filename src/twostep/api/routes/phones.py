"""Phone verification and intelligence (spec §7): P1 start, P2 check, P3 status, P4 info."""

from __future__ import annotations

from starlette.routing import Route

from twostep.api.endpoint import Body, Call, authy
from twostep.api.wire.params import Params
from twostep.services import phoneinfo, phones

P = "/protected/{format}/phones"


def _number(p: Params) -> tuple[str | None, str | None]:
    """``country_code`` and ``phone_number`` as given (the service validates them)."""
    return p.text("country_code", max_length=8), p.text("phone_number", max_length=32)


def verification_start(call: Call) -> Body:
    p = call.params
    country_code, phone_number = _number(p)
    started = phones.start(
        call.tx,
        call.app,
        country_code=country_code,
        phone_number=phone_number,
        via=p.text("via", max_length=8),
        code_length=p.integer("code_length", minimum=4, maximum=10),
        locale=p.text("locale", max_length=16),
        custom_message=p.text("custom_message", max_length=1000),
        custom_code=p.text("custom_code", max_length=10),
    )
    return {
        "carrier": started.info.provider or None,
        "is_cellphone": started.info.is_cellphone,
        "is_ported": started.info.ported,
        "message": started.message,
        "seconds_to_expire": started.seconds_to_expire,
        "uuid": started.uuid,
        "success": True,
    }


def verification_check(call: Call) -> Body:
    p = call.params
    country_code, phone_number = _number(p)
    phones.check(
        call.tx,
        call.app,
        country_code=country_code,
        phone_number=phone_number,
        verification_code=p.text("verification_code", max_length=16),
    )
    return {"message": "Verification code is correct.", "success": True}


STATUS_MESSAGES = {
    "pending": "Verification is pending.",
    "verified": "Phone number has been verified.",
    "expired": "Verification has expired.",
}


def verification_status(call: Call) -> Body:
    country_code, phone_number = _number(call.params)
    found = phones.status(call.tx, call.app, country_code=country_code, phone_number=phone_number)
    return {
        "status": found.status,
        "seconds_to_expire": found.seconds_to_expire,
        "message": STATUS_MESSAGES[found.status],
        "success": True,
    }


def phone_info(call: Call) -> Body:
    country_code, phone_number = _number(call.params)
    found = phoneinfo.lookup(
        call.tx, call.app, country_code=country_code, phone_number=phone_number
    )
    return {
        "message": f"Phone number information as of {found.as_of:%Y-%m-%d %H:%M:%S} UTC",
        "type": found.info.type,
        "provider": found.info.provider,
        "ported": found.info.ported,
        "success": True,
    }


routes = [
    Route(f"{P}/verification/start", authy(verification_start), methods=["POST"]),
    Route(f"{P}/verification/check", authy(verification_check), methods=["GET"]),
    Route(f"{P}/verification/status", authy(verification_status, write=False), methods=["GET"]),
    Route(f"{P}/info", authy(phone_info, write=False), methods=["GET"]),
]
