"""Enrolling an authenticator device (docs/device-protocol.md §2): by a PIN sent to the person's
phone by SMS or voice, or by a one-time link a customer application asked for one of its users.

The phone path answers the same whether or not the number belongs to a person (no enumeration): an
enrolment row is written either way, but a PIN is only sent, and can only ever match, for a person.
Only a keyed digest of the PIN is stored. When the person already has an active device the new one
waits as *pending* (SIM-swap protection, see services/recovery.py).

A link is ``<lookup id>.<secret>``: the lookup id is the enrolment's ``public_id``; only a keyed
digest of the secret is stored (in ``pin_digest``), compared in constant time."""

from __future__ import annotations

import hashlib
import hmac
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from twostep import i18n
from twostep.core import codes, crypto
from twostep.core.phone import Phone, PhoneError, normalise
from twostep.errors import (
    EnrollmentNotFound,
    FailAfterCommit,
    InvalidParameter,
    InvalidPhoneNumber,
    InvalidPin,
    UserNotFound,
)
from twostep.services import (
    audit,
    device_seeds,
    devices,
    events,
    messages,
    outbox,
    ratelimit,
    recovery,
)
from twostep.services.apps import App
from twostep.services.device_model import Device
from twostep.services.devices import NewDevice
from twostep.services.runtime import Tx
from twostep.services.secrets import render_png
from twostep.services.users import get as get_user
from twostep.store import devices as device_q
from twostep.store import enrollments as q

PIN_DIGITS = 6
MAX_PIN_ATTEMPTS = 5
START_WINDOW_SECONDS = 600
VIA = ("sms", "call")
QR_PIXELS = 300
_MAX_ID = 64


@dataclass(frozen=True, slots=True)
class Started:
    enrollment_id: str
    expires_in: int


@dataclass(frozen=True, slots=True)
class Enrolled:
    enrollment_id: str
    status: str  # completed | pending_approval
    device: Device
    accounts: list[dict[str, Any]]
    activates_at: datetime | None


@dataclass(frozen=True, slots=True)
class Link:
    url: str
    qr_url: str
    expires_at: datetime


def start_limit(tx: Tx) -> ratelimit.Limit:
    return ratelimit.Limit(
        "device-enroll", tx.settings.enrollment_start_limit, START_WINDOW_SECONDS
    )


def _pin_digest(tx: Tx, public_id: str, pin: str) -> bytes:
    return codes.code_digest(tx.keyring.subkey("device-pins"), f"enrollment:{public_id}", pin)


def start(
    tx: Tx, *, country_code: object, phone_number: object, via: str | None, locale: str | None
) -> Started:
    if via not in VIA:
        raise InvalidParameter("via", "Must be sms or call")
    try:
        phone = normalise(country_code, phone_number, strict=False)
    except PhoneError:
        raise InvalidPhoneNumber from None
    language = messages.locale_for(tx, locale, phone)
    ratelimit.check_and_hit(tx, start_limit(tx), phone.e164)
    person_id = q.person_id_by_e164(tx.conn, phone.e164)
    public_id = crypto.random_token(24)
    ttl = tx.settings.enrollment_ttl_seconds
    pin = codes.numeric_code(PIN_DIGITS)
    q.insert_enrollment(
        tx.conn,
        public_id=public_id,
        method=via,
        person_id=person_id,
        # nothing is sent to a number nobody registered, and no PIN can match
        pin_digest=_pin_digest(tx, public_id, pin) if person_id is not None else None,
        status="started",
        created_at=tx.now,
        expires_at=tx.now + timedelta(seconds=ttl),
    )
    if person_id is not None:
        _send_pin(tx, phone, language, via, pin)
    audit.record(tx, "device_enrollment_started", person_id=person_id, detail=via)
    return Started(public_id, ttl)


def _send_pin(tx: Tx, phone: Phone, language: str, via: str, pin: str) -> None:
    if via == "sms":
        body = tx.catalogs.text(language, i18n.DEVICE_PIN_SMS, code=pin)
        payload = {"to": phone.e164, "body": body, "code": pin, "sandbox": False}
        outbox.enqueue(tx, "sms", payload)
        return
    text = tx.catalogs.text(language, i18n.DEVICE_PIN_VOICE, spelled_code=codes.spell_digits(pin))
    payload = {"to": phone.e164, "text": text, "language": language, "code": pin, "sandbox": False}
    outbox.enqueue(tx, "voice", payload)


def _started(tx: Tx, public_id: str, methods: tuple[str, ...], *, lock: bool = True) -> Any:
    found = len(public_id) <= _MAX_ID
    row = q.by_public_id(tx.conn, public_id, for_update=lock) if found else None
    if row is None or row.method not in methods or row.status != "started":
        raise EnrollmentNotFound
    if row.expires_at <= tx.now:
        raise EnrollmentNotFound
    return row


def confirm(tx: Tx, enrollment_id: str, pin: str, new: NewDevice, ip: str | None) -> Enrolled:
    row = _started(tx, enrollment_id, VIA)
    used = q.count_attempt(tx.conn, row.id, MAX_PIN_ATTEMPTS)
    if used is None:
        raise EnrollmentNotFound
    well_formed = len(pin) == PIN_DIGITS and pin.isdigit()
    given = _pin_digest(tx, row.public_id, pin) if well_formed else b""
    expected = row.pin_digest
    if row.person_id is None or expected is None or not hmac.compare_digest(expected, given):
        if used >= MAX_PIN_ATTEMPTS:
            q.move(tx.conn, row.id, "started", status="failed")
        if row.person_id is not None:
            audit.record(tx, "device_pin_invalid", person_id=row.person_id, detail=str(used))
        raise FailAfterCommit(InvalidPin())
    person_id = int(row.person_id)
    period = tx.settings.recovery_period_seconds
    has_device = bool(device_q.active_of_person(tx.conn, person_id))
    if has_device and period > 0:
        device = devices.register(tx, person_id, new, method=row.method, ip=ip, status="pending")
        activates = tx.now + timedelta(seconds=period)
        q.move(
            tx.conn,
            row.id,
            "started",
            status="pending_approval",
            device_id=device.id,
            activates_at=activates,
        )
        recovery.started(tx, row.public_id, person_id, device)
        return Enrolled(row.public_id, "pending_approval", device, [], activates)
    device = devices.register(tx, person_id, new, method=row.method, ip=ip, status="active")
    q.move(tx.conn, row.id, "started", status="completed", device_id=device.id, completed_at=tx.now)
    device_seeds.seed_device(tx, device.id, person_id, row.method, None)
    audit.record(
        tx, "device_enrolled", person_id=person_id, detail=f"{device.uuid} method={row.method}"
    )
    _registered(tx, device, person_id)
    return Enrolled(row.public_id, "completed", device, device_seeds.accounts(tx, device.id), None)


def _registered(tx: Tx, device: Device, person_id: int) -> None:
    """Tell every application the new device serves (webhook ``device_registration_completed``)."""
    events.for_person(
        tx,
        person_id,
        device_q.app_ids_for_device(tx.conn, device.id),
        "device_registration_completed",
        device={"s_uuid": device.uuid, "s_os_type": device.os_type, "i_id": device.id},
    )


# --- enrolment links ----------------------------------------------------------------------------


def _link_digest(tx: Tx, lookup: str, secret: str) -> bytes:
    key = tx.keyring.subkey("enrollment-links")
    return hmac.digest(key, f"{lookup}.{secret}".encode(), hashlib.sha256)


def link_url(tx: Tx, token: str) -> str:
    return f"{tx.settings.resolved_public_url}/device/v1/links/{token}"


def create_link(tx: Tx, app: App, authy_id: object) -> Link:
    """A one-time enrolment link for one of the application's users."""
    user = get_user(tx, app, authy_id)
    if user.account_disabled:
        raise UserNotFound
    lookup, secret = crypto.random_token(16), crypto.random_token(32)
    expires = tx.now + timedelta(seconds=tx.settings.enrollment_link_ttl_seconds)
    q.insert_enrollment(
        tx.conn,
        public_id=lookup,
        method="link",
        person_id=user.authy_id,
        app_id=app.id,
        pin_digest=_link_digest(tx, lookup, secret),
        status="started",
        created_at=tx.now,
        expires_at=expires,
    )
    audit.record(tx, "enrollment_link_created", app_id=app.id, person_id=user.authy_id)
    url = link_url(tx, f"{lookup}.{secret}")
    return Link(url, f"{url}/qr.png", expires)


def _link(tx: Tx, token: str, *, lock: bool = True) -> Any:
    lookup, sep, secret = token.partition(".")
    if not sep or not lookup or not secret or len(token) > 2 * _MAX_ID:
        raise EnrollmentNotFound
    row = _started(tx, lookup, ("link",), lock=lock)
    if row.pin_digest is None or not hmac.compare_digest(
        row.pin_digest, _link_digest(tx, lookup, secret)
    ):
        raise EnrollmentNotFound
    return row


def redeem_link(tx: Tx, token: str, new: NewDevice, ip: str | None) -> Enrolled:
    """Enrol with a link: active at once (the application vouched for its user), serving that
    application only. Works once."""
    row = _link(tx, token)
    person_id, app_id = int(row.person_id), int(row.app_id)
    if app_id not in device_q.registered_app_ids(tx.conn, person_id):
        raise EnrollmentNotFound  # the user was removed from the application since
    if not q.move(tx.conn, row.id, "started", status="completed", completed_at=tx.now):
        raise EnrollmentNotFound
    device = devices.register(tx, person_id, new, method="link", ip=ip, status="active")
    q.move(tx.conn, row.id, "completed", device_id=device.id)
    device_seeds.seed_device(tx, device.id, person_id, "link", app_id)
    audit.record(
        tx,
        "device_enrolled",
        app_id=app_id,
        person_id=person_id,
        detail=f"{device.uuid} method=link",
    )
    _registered(tx, device, person_id)
    return Enrolled(row.public_id, "completed", device, device_seeds.accounts(tx, device.id), None)


def link_qr_png(tx: Tx, token: str) -> bytes:
    """The QR image of a link that can still be used."""
    _link(tx, token, lock=False)
    return render_png(link_url(tx, token), QR_PIXELS)
