"""Users (spec §3): U1 new, U2 status, U3/U3b/U3c delete, U4 register_activity, U6 update,
U8 phone_number."""

from __future__ import annotations

from starlette.routing import Route

from twostep.api.endpoint import Body, Call, authy
from twostep.api.wire.params import parse_bool
from twostep.services import users
from twostep.services.users import User

P = "/protected/{format}"


def users_new(call: Call) -> Body:
    p = call.params
    given = p.mapping("user") or {}
    # clients put this flag at the top level, inside the user hash ([php]) or in the query ([na])
    flag = given.get("send_install_link_via_sms", p.any("send_install_link_via_sms"))
    send_install_link = True if flag is None or flag == "" else parse_bool(flag)
    user = users.register(
        call.tx,
        call.app,
        email=given.get("email"),
        country_code=given.get("country_code"),
        cellphone=given.get("cellphone"),
        send_install_link=send_install_link,
    )
    return {"message": "User created successfully.", "user": {"id": user.authy_id}, "success": True}


def status_body(user: User, status: users.UserStatus) -> Body:
    return {
        "status": {
            "authy_id": user.authy_id,
            "confirmed": user.confirmed,
            "registered": status.registered,
            "country_code": user.phone.country_code,
            "phone_number": status.masked_phone,
            "email": user.email,
            "devices": status.device_types,
            "has_hard_token": False,
            "account_disabled": user.account_disabled,
            "detailed_devices": status.detailed_devices,
            "deleted_devices": status.deleted_devices,
        },
        "message": "User status.",
        "success": True,
    }


def user_status(call: Call) -> Body:
    user = users.get(call.tx, call.app, call.path["authy_id"])
    return status_body(user, users.status(call.tx, user))


def user_remove(call: Call) -> Body:
    users.remove(call.tx, call.app, call.path["authy_id"])
    return {"message": "User was added to remove.", "success": True}


def user_delete(call: Call) -> Body:
    users.remove(call.tx, call.app, call.path["authy_id"])
    return {"message": "User removed from application", "success": True}


def register_activity(call: Call) -> Body:
    p = call.params
    users.register_activity(
        call.tx,
        call.app,
        call.path["authy_id"],
        type_=p.text("type", max_length=64),
        user_ip=p.text("user_ip", max_length=64),
        data=p.mapping("data"),
    )
    return {"message": "Activity was created.", "success": True}


def user_update(call: Call) -> Body:
    p = call.params
    nested = p.mapping("user") or {}
    email = p.any("email") if p.has("email") else nested.get("email")
    users.update_email(call.tx, call.app, call.path["authy_id"], email)
    return {"message": "User was updated successfully", "success": True}


def phone_number(call: Call) -> Body:
    user = users.get(call.tx, call.app, call.path["authy_id"])
    return {
        "phone_number": user.phone.national_number,
        "country_code": user.phone.country_code,
        "e164": user.phone.e164,
        "message": "Phone number.",
        "success": True,
    }


routes = [
    Route(f"{P}/users/new", authy(users_new), methods=["POST"]),
    Route(f"{P}/users/delete/{{authy_id}}", authy(user_delete), methods=["POST"]),
    Route(
        f"{P}/users/{{authy_id}}/status",
        authy(user_status, write=False, inline=True),
        methods=["GET"],
    ),
    Route(f"{P}/users/{{authy_id}}/remove", authy(user_remove), methods=["POST"]),
    Route(f"{P}/users/{{authy_id}}/delete", authy(user_delete), methods=["POST"]),
    Route(f"{P}/users/{{authy_id}}/register_activity", authy(register_activity), methods=["POST"]),
    Route(f"{P}/users/{{authy_id}}/update", authy(user_update), methods=["POST"]),
    Route(
        f"{P}/users/{{authy_id}}/phone_number", authy(phone_number, write=False), methods=["GET"]
    ),
]
