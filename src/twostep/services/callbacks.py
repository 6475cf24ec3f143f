"""OneTouch callbacks (spec O3): the body Authy sent when a person answered, queued in the same
transaction as the answer. The worker signs and sends it (worker/callbacks.py)."""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import Any

from twostep.services import outbox
from twostep.services.apps import AppSettings
from twostep.services.device_model import Device
from twostep.services.runtime import Tx

CALLBACK_KIND = "callback"


@dataclass(frozen=True, slots=True)
class Answer:
    """A device's signed answer to an approval request."""

    device: Device
    status: str
    signature: bytes
    signed_at: int


def onetouch_body(row: Any, app_public_id: str, answer: Answer) -> dict[str, Any]:
    """The callback parameters, in the current (2017-2019) Authy format. ``device_uuid`` is a string
    (authy-client's verifier requires one); empty hashes become null so the canonical query string
    stays well formed."""
    expires = int(row.expires_at.timestamp()) if row.expires_at else None
    return {
        "authy_id": row.person_id,
        "device_uuid": answer.device.uuid,
        "callback_action": "approval_request_status",
        "uuid": row.uuid,
        "status": answer.status,
        "approval_request": {
            "transaction": {
                "details": row.details or None,
                "hidden_details": row.hidden_details or None,
                "device_details": {},
                "device_geolocation": "",
                "device_signing_time": answer.signed_at,
                "encrypted": False,
                "flagged": False,
                "message": row.message,
                "reason": "",
                "requester_details": None,
                "status": answer.status,
                "uuid": row.uuid,
                "created_at_time": int(row.created_at.timestamp()),
                "customer_uuid": row.app_id,
            },
            "expiration_timestamp": expires,
            "logos": row.logos or None,
            "app_id": app_public_id,
        },
        "signature": base64.b64encode(answer.signature).decode("ascii"),
        "device": answer.device.authy_view(),
    }


def queue_onetouch(tx: Tx, row: Any, answer: Answer) -> str | None:
    """Queue the callback if the application has a callback URL; returns the job's key. ``row``
    is the request as store.approvals.by_uuid reads it, with its application's settings."""
    settings = AppSettings.from_json(row.app_settings)
    if not settings.onetouch_callback_url:
        return None
    body = onetouch_body(row, row.app_public_id, answer)
    payload = {
        "app_id": row.app_id,
        "url": settings.onetouch_callback_url,
        "method": settings.onetouch_callback_method,
        "params": body,
    }
    return outbox.enqueue(tx, CALLBACK_KIND, payload, app_id=row.app_id)
