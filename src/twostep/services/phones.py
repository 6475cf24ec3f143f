"""Phone verification (Verify v1, spec §7 P1-P3): send a code to a number, check it, report status.

One verification per (application, number); a new start replaces the previous one (its code stops
working). The code is stored only as a keyed digest bound to the application, the E.164 number and
the verification's uuid, expires after ``TTL_SECONDS``, is consumed by the first correct check,
and ``MAX_WRONG_CHECKS`` wrong checks fail the verification. Messages go through the outbox in the
same transaction. ``phone_verification_started`` and ``_phone_event`` below are the places where
webhook events are emitted; every refusal that passes through one commits
(``FailAfterCommit``), so an event queued there is kept.
"""

from __future__ import annotations

import hmac
import uuid as uuidlib
from dataclasses import dataclass
from datetime import timedelta
from typing import Any, Literal

from twostep import i18n
from twostep.core import codes
from twostep.core.phone import Phone, display, mask_cellphone
from twostep.core.phoneinfo import PhoneInfo
from twostep.errors import (
    FailAfterCommit,
    FeatureDisabled,
    InvalidParameter,
    PhoneVerificationIncorrect,
    PhoneVerificationNotFound,
    RateLimited,
)
from twostep.services import audit, events, messages, outbox, ratelimit, stats
from twostep.services.apps import App
from twostep.services.phoneinfo import info_for, parse_phone
from twostep.services.runtime import Tx
from twostep.store import phones as q

Via = Literal["sms", "call"]
Status = Literal["pending", "verified", "expired"]

VIAS: tuple[Via, ...] = ("sms", "call")
TTL_SECONDS = 600
MAX_WRONG_CHECKS = 5
START_LIMIT = ratelimit.Limit("phone-verify-start", 5, 600)  # per number, like Twilio Verify
DEFAULT_CODE_LENGTH = 4
SANDBOX_CODE = "0000"
CODE_PLACEHOLDER = "{{code}}"
KEEP_SECONDS = 24 * 3600  # finished or expired verifications stay readable (P3) this long


@dataclass(frozen=True, slots=True)
class Started:
    uuid: str
    phone: Phone
    via: Via
    locale: str
    seconds_to_expire: int
    info: PhoneInfo
    message: str  # "Text message sent to +1 201-555-0123." in the chosen locale


@dataclass(frozen=True, slots=True)
class VerificationStatus:
    status: Status
    seconds_to_expire: int


def _digest(tx: Tx, app_id: int, phone: Phone, verification_uuid: str, code: str) -> bytes:
    scope = f"{app_id}:{phone.e164}:{verification_uuid}"
    return codes.code_digest(tx.keyring.subkey("phone-verification"), scope, code)


def _allowed(app: App, enabled: bool) -> bool:
    return enabled or app.settings.sandbox


def _code_for(app: App, code_length: int | None, custom_code: str | None) -> str:
    if custom_code is not None:
        if not _allowed(app, app.settings.custom_code_enabled):
            raise FeatureDisabled("custom_code")
        if not (custom_code.isdigit() and custom_code.isascii() and 4 <= len(custom_code) <= 10):
            raise InvalidParameter("custom_code", "Must be 4 to 10 digits")
    if app.settings.sandbox:
        return SANDBOX_CODE
    if custom_code is not None:
        return custom_code  # its own length wins over code_length
    return codes.numeric_code(code_length or DEFAULT_CODE_LENGTH)


def _check_channel(app: App, via: str | None) -> Via:
    chosen = via or "sms"
    if chosen == "sms":
        if not app.settings.sms_enabled:
            raise FeatureDisabled("sms")
        return "sms"
    if chosen == "call":
        if not app.settings.phone_calls_enabled:
            raise FeatureDisabled("call")
        return "call"
    raise InvalidParameter("via", "Must be one of sms, call")


def start(
    tx: Tx,
    app: App,
    *,
    country_code: object,
    phone_number: object,
    via: str | None = None,
    code_length: int | None = None,
    locale: str | None = None,
    custom_message: str | None = None,
    custom_code: str | None = None,
) -> Started:
    """P1: send a fresh code to the number, replacing any previous verification of it."""
    phone = parse_phone(app, country_code, phone_number)
    channel = _check_channel(app, via)
    if custom_message is not None and not _allowed(app, app.settings.custom_message_enabled):
        _phone_event(tx, app, "custom_message_not_allowed", phone)
        raise FailAfterCommit(FeatureDisabled("custom_message"))
    code = _code_for(app, code_length, custom_code)
    language = messages.locale_for(tx, locale, phone)
    try:
        ratelimit.check_and_hit(tx, START_LIMIT, f"{app.id}:{phone.e164}")
    except RateLimited as exc:
        _phone_event(tx, app, "too_many_phone_verifications", phone)
        raise FailAfterCommit(exc) from None
    verification_uuid = str(uuidlib.uuid4())
    q.replace(
        tx.conn,
        app_id=app.id,
        e164=phone.e164,
        uuid=verification_uuid,
        via=channel,
        locale=language,
        digest=_digest(tx, app.id, phone, verification_uuid, code),
        now=tx.now,
        expires_at=tx.now + timedelta(seconds=TTL_SECONDS),
    )
    _queue(
        tx, app, phone, channel=channel, language=language, code=code, custom_message=custom_message
    )
    stats.count(tx, app.id, sms=int(channel == "sms"), calls=int(channel == "call"))
    template = i18n.VERIFY_SMS_SENT if channel == "sms" else i18n.VERIFY_CALL_STARTED
    started = Started(
        uuid=verification_uuid,
        phone=phone,
        via=channel,
        locale=language,
        seconds_to_expire=TTL_SECONDS,
        info=info_for(app, phone),
        message=tx.catalogs.text(language, template, number=display(phone)),
    )
    phone_verification_started(tx, app, started)
    return started


def _custom(custom_message: str | None, standard: str, code_text: str) -> str:
    """The custom message with every ``{{code}}`` replaced by the code; without the placeholder,
    the custom message then the standard text (which carries the code) on the next line."""
    if not custom_message:
        return standard
    if CODE_PLACEHOLDER in custom_message:
        return custom_message.replace(CODE_PLACEHOLDER, code_text)
    return f"{custom_message}\n{standard}"


def _queue(
    tx: Tx,
    app: App,
    phone: Phone,
    *,
    channel: Via,
    language: str,
    code: str,
    custom_message: str | None,
) -> None:
    common = {"to": phone.e164, "code": code, "sandbox": app.settings.sandbox}
    if channel == "sms":
        standard = tx.catalogs.text(
            language, i18n.PHONE_VERIFICATION_SMS, app_name=app.name, code=code
        )
        body = _custom(custom_message, standard, code)
        outbox.enqueue(tx, "sms", {**common, "body": body}, app_id=app.id)
        return
    spelled = codes.spell_digits(code)
    standard = tx.catalogs.text(
        language, i18n.PHONE_VERIFICATION_VOICE, app_name=app.name, spelled_code=spelled
    )
    text = _custom(custom_message, standard, spelled)
    payload = {**common, "text": text, "language": language}
    outbox.enqueue(tx, "voice", payload, app_id=app.id)


def _well_formed(verification_code: str | None) -> str:
    if verification_code is None:
        raise InvalidParameter("verification_code")
    code = verification_code.strip()
    if not (code.isdigit() and code.isascii() and 4 <= len(code) <= 10):
        raise InvalidParameter("verification_code", "Must be 4 to 10 digits")
    return code


def check(
    tx: Tx,
    app: App,
    *,
    country_code: object,
    phone_number: object,
    verification_code: str | None,
) -> None:
    """P2: accept the pending code of the number once, or refuse (60022 wrong code, 60023 nothing
    pending: none started, expired, already verified, or failed after too many wrong codes)."""
    phone = parse_phone(app, country_code, phone_number)
    code = _well_formed(verification_code)
    row = q.find(tx.conn, app.id, phone.e164, for_update=True)
    if app.settings.sandbox:
        _check_sandbox(tx, app, phone, code, row)
        return
    if row is None or row.status != "pending" or row.expires_at <= tx.now:
        _phone_event(tx, app, "phone_verification_not_found", phone)
        raise FailAfterCommit(PhoneVerificationNotFound(display(phone)))
    expected = _digest(tx, app.id, phone, row.uuid, code)
    if codes.same_digest(row.digest, expected):
        if not q.mark_verified(tx.conn, row.id, tx.now):  # a concurrent check won
            _phone_event(tx, app, "phone_verification_not_found", phone)
            raise FailAfterCommit(PhoneVerificationNotFound(display(phone)))
        _phone_event(tx, app, "phone_verification_code_is_valid", phone, row.uuid)
        return
    q.count_wrong_attempt(tx.conn, row.id, MAX_WRONG_CHECKS)
    _phone_event(tx, app, "phone_verification_code_is_invalid", phone, row.uuid)
    raise FailAfterCommit(PhoneVerificationIncorrect())


def _check_sandbox(tx: Tx, app: App, phone: Phone, code: str, row: q.Record | None) -> None:
    """The old sandbox: ``0000`` is correct (whether or not a verification is pending), anything
    else is wrong; wrong codes never fail the verification."""
    verification_uuid = row.uuid if row is not None else None
    if not hmac.compare_digest(code, SANDBOX_CODE):
        _phone_event(tx, app, "phone_verification_code_is_invalid", phone, verification_uuid)
        raise FailAfterCommit(PhoneVerificationIncorrect())
    if row is not None and row.status == "pending":
        q.mark_verified(tx.conn, row.id, tx.now)
    _phone_event(tx, app, "phone_verification_code_is_valid", phone, verification_uuid)


def status(tx: Tx, app: App, *, country_code: object, phone_number: object) -> VerificationStatus:
    """P3: the state of the number's latest verification; 60023 when there is none (never started,
    or forgotten ``KEEP_SECONDS`` after it expired)."""
    phone = parse_phone(app, country_code, phone_number)
    row = q.find(tx.conn, app.id, phone.e164)
    if row is None:
        raise PhoneVerificationNotFound(display(phone))
    if row.status == "verified":
        return VerificationStatus("verified", 0)
    remaining = int((row.expires_at - tx.now).total_seconds())
    if row.status == "pending" and remaining > 0:
        return VerificationStatus("pending", remaining)
    return VerificationStatus("expired", 0)  # timed out, or failed after too many wrong codes


def purge_stale(tx: Tx) -> int:
    """Forget verifications that expired more than ``KEEP_SECONDS`` ago (for the worker's
    maintenance loop)."""
    return q.delete_stale(tx.conn, tx.now - timedelta(seconds=KEEP_SECONDS))


# --- events: the audit log and webhooks (spec §6). Details carry the verification uuid or a masked
# number, never a code or a full number. -----------------------------------------------------------


def _event(tx: Tx, app: App, event: str, detail: str, **verification: Any) -> None:
    audit.record(tx, event, app_id=app.id, detail=detail)
    events.emit(
        tx,
        app.id,
        event,
        {"phone_verification": {k: v for k, v in verification.items() if v is not None}},
    )


def phone_verification_started(tx: Tx, app: App, started: Started) -> None:
    _event(
        tx,
        app,
        "phone_verification_started",
        f"{started.uuid} via {started.via}",
        s_uuid=started.uuid,
        s_via=started.via,
    )


def _phone_event(
    tx: Tx, app: App, event: str, phone: Phone, verification_uuid: str | None = None
) -> None:
    """An event about a number (check results, refusals): the verification's uuid when known."""
    masked = mask_cellphone(phone)
    _event(
        tx, app, event, verification_uuid or masked, s_uuid=verification_uuid, s_phone_number=masked
    )
