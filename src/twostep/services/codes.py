"""Sending one-time codes by SMS, voice call and email (T1-T3): generate, store a keyed hash bound
to the user and ``action``, queue the delivery in the same transaction."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from typing import Literal

from twostep.core import codes
from twostep.core.phone import mask_cellphone
from twostep.errors import FeatureDisabled
from twostep.services import events, messages, outbox, ratelimit, stats
from twostep.services.apps import App
from twostep.services.runtime import Tx
from twostep.services.users import User, get_with_devices
from twostep.store import codes as q

Channel = Literal["sms", "call", "email"]
_FEATURE_ENABLED = {
    "sms": lambda app: app.settings.sms_enabled,
    "call": lambda app: app.settings.phone_calls_enabled,
    "email": lambda app: app.settings.email_enabled,
}


@dataclass(frozen=True, slots=True)
class SendOutcome:
    cellphone: str  # masked
    ignored: bool = False
    device: str | None = None  # the registered device's type, when ignored
    email: str | None = None
    email_id: str | None = None


def send_limit(tx: Tx) -> ratelimit.Limit:
    s = tx.settings
    return ratelimit.Limit("code-send", s.send_limit, s.send_window_seconds)


def code_scope(app_id: int, person_id: int, action: str | None) -> str:
    return f"{app_id}:{person_id}:{action or ''}"


def code_digest(tx: Tx, app_id: int, person_id: int, action: str | None, code: str) -> bytes:
    return codes.code_digest(
        tx.keyring.subkey("otp-codes"), code_scope(app_id, person_id, action), code
    )


def send(
    tx: Tx,
    app: App,
    authy_id: object,
    channel: Channel,
    *,
    force: bool = False,
    action: str | None = None,
    action_message: str | None = None,
    locale: str | None = None,
) -> SendOutcome:
    if not _FEATURE_ENABLED[channel](app):
        raise FeatureDisabled(channel)
    limit = send_limit(tx)
    in_database = tx.rt.redis is None
    user, active, hits = get_with_devices(
        tx, app, authy_id, (limit.bucket, limit.window_seconds) if in_database else None
    )
    language = messages.locale_for(tx, locale, user.phone)
    masked = mask_cellphone(user.phone)
    if active and channel != "email" and not force:
        # The person has an authenticator: its codes work, no message needed (spec §9).
        return SendOutcome(masked, ignored=True, device=active[0].os_type)
    subject = f"{app.id}:{user.authy_id}"
    if hits is None:  # counted in Redis
        ratelimit.check(tx, limit, subject)
    else:
        ratelimit.refuse_if_exhausted(tx, limit, *hits)
    ratelimit.hit(tx, limit, subject)
    code = codes.numeric_code(app.settings.token_length)
    q.insert_code(
        tx.conn,
        app_id=app.id,
        person_id=user.authy_id,
        channel=channel,
        digest=code_digest(tx, app.id, user.authy_id, action, code),
        action=action,
        now=tx.now,
        expires_at=tx.now + timedelta(seconds=tx.settings.code_ttl_seconds),
    )
    draft = Draft(app, user, language, code, action_message)
    events.for_user(tx, user, "totp_token_sent", totp_token={"s_channel": channel})
    if channel == "email":
        return SendOutcome(masked, email=user.email, email_id="EM" + _queue_email(tx, draft))
    _queue_phone(tx, draft, channel)
    stats.count(tx, app.id, **{"sms" if channel == "sms" else "calls": 1})
    return SendOutcome(masked)


@dataclass(frozen=True, slots=True)
class Draft:
    """A code on its way to a person: who, in which language, with which optional action text."""

    app: App
    user: User
    language: str
    code: str
    action_message: str | None

    def payload(self, **fields: object) -> dict[str, object]:
        return {**fields, "code": self.code, "sandbox": self.app.settings.sandbox}


def _queue_phone(tx: Tx, d: Draft, channel: Channel) -> None:
    to = d.user.phone.e164
    if channel == "sms":
        body = messages.sms_code(tx, d.language, d.app.name, d.code, d.action_message)
        outbox.enqueue(tx, "sms", d.payload(to=to, body=body), app_id=d.app.id)
    else:
        text = messages.voice_code(tx, d.language, d.app.name, d.code, d.action_message)
        payload = d.payload(to=to, text=text, language=d.language)
        outbox.enqueue(tx, "voice", payload, app_id=d.app.id)


def _queue_email(tx: Tx, d: Draft) -> str:
    email = messages.email_code(tx, d.language, d.app.name, d.code, d.action_message)
    payload = d.payload(to=d.user.email, subject=email.subject, body=email.body)
    return outbox.enqueue(tx, "email", payload, app_id=d.app.id)
