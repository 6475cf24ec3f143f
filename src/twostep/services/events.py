"""Webhook events (spec §6): the 23 event names, the event record Authy's reporting API described,
and ``emit``, which queues one delivery per subscribed webhook in the caller's transaction."""

from __future__ import annotations

import hashlib
import secrets
import time
from typing import Any, Protocol

from twostep.core.phone import Phone
from twostep.services import outbox
from twostep.services.runtime import Tx
from twostep.store import apps as app_q
from twostep.store import webhooks as q

EVENTS = (
    "account_recovery_approved", "account_recovery_canceled", "account_recovery_started",
    "custom_message_not_allowed", "device_registration_completed", "one_touch_request_responded",
    "phone_change_canceled", "phone_change_pin_sent", "phone_change_requested",
    "phone_verification_code_is_invalid", "phone_verification_code_is_valid",
    "phone_verification_failed", "phone_verification_not_found", "phone_verification_started",
    "suspended_account", "token_invalid", "token_verified", "too_many_code_verifications",
    "too_many_phone_verifications", "totp_token_sent", "user_added", "user_phone_changed",
    "user_removed",
)  # fmt: skip
WEBHOOK_KIND = "webhook"


def account_sid(app_public_id: str) -> str:
    """A stable Twilio-style account id for the application (``AC`` + 32 hex)."""
    return "AC" + hashlib.sha256(f"account:{app_public_id}".encode()).hexdigest()[:32]


def service_id(app_public_id: str) -> str:
    return "IS" + hashlib.sha256(f"service:{app_public_id}".encode()).hexdigest()[:32]


def user_object(
    authy_id: int,
    *,
    country_code: int | None = None,
    phone: str | None = None,
    banned: bool = False,
    locale: str = "",
) -> dict[str, Any]:
    """The ``user`` object of an event record (reporting-API field names)."""
    return {
        "s_authy_id": str(authy_id),
        "as_authy_ids": [str(authy_id)],
        "b_banned": banned,
        "s_country_code": str(country_code or ""),
        "s_locale": locale,
        "s_phone_number": phone or "",
    }


def emit(tx: Tx, app_id: int, event: str, objects: dict[str, Any]) -> int:
    """Queue ``event`` for every webhook of the application subscribed to it; returns how many.
    The record carries no secret (never a code, token or key)."""
    assert event in EVENTS, event
    subscribed = _subscribed(tx, app_id, event)
    if not subscribed:
        return 0
    app = app_q.app_by_id(tx.conn, app_id)
    public_id = app.public_id if app is not None else ""
    record = {
        "id": "EV" + secrets.token_hex(16),
        "event": event,
        "time": tx.now.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "objects": {
            "app": {
                "s_account_sid": account_sid(public_id),
                "s_device_app": "twostep",
                "s_id": public_id,
                "s_type": "App",
            },
            **objects,
        },
    }
    for hook in subscribed:
        outbox.enqueue(
            tx,
            WEBHOOK_KIND,
            {"webhook_id": hook.id, "app_id": app_id, "record": record},
            app_id=app_id,
        )
    return len(subscribed)


def _subscribed(tx: Tx, app_id: int, event: str) -> list[q.Subscriber]:
    return [w for w in _subscribers(tx, app_id) if event in w.events]


def _subscribers(tx: Tx, app_id: int) -> list[q.Subscriber]:
    """The application's webhooks. A process remembers them for ``app_cache_seconds``, as it
    does the application itself: most requests emit an event, and this saves them a query (a
    round trip on PostgreSQL). Webhooks created or deleted through this process apply at once,
    through others within that time (a deleted one's queued events are dropped by the worker)."""
    cache, now = tx.rt.webhook_cache, time.monotonic()
    known = cache.get(app_id)
    if known is not None and known[0] > now:
        return known[1]
    found = q.subscribers(tx.conn, app_id)
    ttl = tx.settings.app_cache_seconds
    if ttl > 0:
        cache[app_id] = (now + ttl, found)
    return found


def forget_cached(tx: Tx) -> None:
    """Once ``tx`` commits, this process reads webhooks afresh (after a change to them)."""
    tx.after_commit.append(tx.rt.webhook_cache.clear)


class _Person(Protocol):
    @property
    def authy_id(self) -> int: ...

    @property
    def app_id(self) -> int: ...

    @property
    def banned(self) -> bool: ...

    @property
    def phone(self) -> Phone: ...


def for_user(tx: Tx, user: _Person, event: str, **objects: Any) -> int:
    """``emit`` an event about one of the application's users."""
    if not _subscribed(tx, user.app_id, event):
        return 0  # most applications subscribe to nothing: skip building the record
    person = user_object(
        user.authy_id,
        country_code=user.phone.country_code,
        phone=user.phone.national_number,
        banned=user.banned,
    )
    return emit(tx, user.app_id, event, {"user": person, **objects})


def for_person(tx: Tx, person_id: int, app_ids: list[int], event: str, **objects: Any) -> int:
    """``emit`` an event about a person to each of the given applications (devices and account
    recovery concern the person, not one application)."""
    person = {"user": user_object(person_id), **objects}
    return sum(emit(tx, app_id, event, person) for app_id in app_ids)
