"""Application (spec §8): A1 details, A2 monthly statistics. ``user_ip`` is accepted and ignored."""

from __future__ import annotations

from starlette.routing import Route

from twostep.api.endpoint import Body, Call, authy
from twostep.services import stats

P = "/protected/{format}/app"


def app_details(call: Call) -> Body:
    app, s = call.app, call.app.settings
    return {
        "app": {
            "app_id": app.id,
            "name": app.name,
            "plan": s.plan,
            "sms_enabled": s.sms_enabled,
            "phone_calls_enabled": s.phone_calls_enabled,
            "onetouch_enabled": s.onetouch_enabled,
            "white_label": s.white_label,
        },
        "message": "Application information.",
        "success": True,
    }


def app_stats(call: Call) -> Body:
    found = stats.monthly(call.tx, call.app.id)
    return {
        "message": "Monthly statistics.",
        "count": len(found.months),
        "total_users": found.total_users,
        "app_id": found.app_id,
        "success": True,
        "stats": [
            {
                "sms_count": m.sms,
                "calls_count": m.calls,
                "users_count": m.users,
                "auths_count": m.auths,
                "month": m.month_name,
                "api_calls_count": m.api_calls,
                "year": m.year,
            }
            for m in found.months
        ],
    }


routes = [
    Route(f"{P}/details", authy(app_details, write=False), methods=["GET"]),
    Route(f"{P}/stats", authy(app_stats, write=False), methods=["GET"]),
]
