"""Users: registration (one Authy id per phone number, shared by every application), status,
deletion with a delayed purge, activities, email changes and phone export."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from email_validator import EmailNotValidError, validate_email

from twostep.core import crypto
from twostep.core.phone import (
    Phone,
    PhoneError,
    mask_status,
    normalise,
    plausible_number,
    stored,
)
from twostep.errors import InvalidParameter, UserNotFound, UserNotValid
from twostep.services import events, messages, outbox, stats
from twostep.services.apps import App
from twostep.services.device_seeds import ensure_seeds
from twostep.services.runtime import Tx
from twostep.store import devices as device_q
from twostep.store import users as q
from twostep.store.codes import SeedRow
from twostep.store.users import AppDevice

ACTIVITY_TYPES = ("password_reset", "banned", "unbanned", "cookie_login")
INVALID = "is invalid"


@dataclass(frozen=True, slots=True)
class User:
    authy_id: int
    app_user_id: int
    app_id: int
    public_id: str
    phone: Phone
    email: str
    confirmed: bool
    banned: bool
    created_at: datetime
    deleted_at: datetime | None

    @property
    def account_disabled(self) -> bool:
        return self.deleted_at is not None


def _user(row: Any) -> User:
    phone = stored(row.country_code, row.national_number, row.e164, row.region)
    return User(
        row.authy_id,
        row.app_user_id,
        row.app_id,
        row.public_id,
        phone,
        row.email,
        bool(row.confirmed),
        bool(row.banned),
        row.created_at,
        row.deleted_at,
    )


def normalise_email(value: object) -> str | None:
    """The normalised address, or None if it is not a valid email address."""
    if not isinstance(value, str) or not value or len(value) > 320:
        return None
    try:
        return validate_email(value, check_deliverability=False).normalized
    except EmailNotValidError:
        return None


def register(
    tx: Tx,
    app: App,
    *,
    email: object,
    country_code: object,
    cellphone: object,
    send_install_link: bool = False,
) -> User:
    """Register (or re-register) a person in ``app``. The same phone always yields the same id."""
    problems: dict[str, str] = {}
    address = normalise_email(email)
    if address is None:
        problems["email"] = INVALID
    phone: Phone | None = None
    try:
        phone = normalise(country_code, cellphone, strict=not app.settings.sandbox)
    except PhoneError as exc:
        problems[exc.field] = INVALID
        if exc.field == "country_code" and not plausible_number(cellphone):
            problems["cellphone"] = INVALID
    if problems or phone is None or address is None:
        raise UserNotValid(problems)
    person_id = q.person_id_for(
        tx.conn,
        country_code=phone.country_code,
        national_number=phone.national_number,
        e164=phone.e164,
        region=phone.region or None,
        now=tx.now,
    )
    new_to_app = q.register_in_app(
        tx.conn,
        app_id=app.id,
        person_id=person_id,
        public_id=crypto.random_hex_id(),
        email=address,
        now=tx.now,
    )
    if new_to_app:
        stats.count(tx, app.id, users=1)
    ensure_seeds(tx, app.id, person_id)  # the person's authenticators get an account for the app
    user = get(tx, app, person_id)
    if new_to_app:
        events.for_user(tx, user, "user_added")
    if send_install_link:
        _queue_install_link(tx, app, user)
    return user


def _queue_install_link(tx: Tx, app: App, user: User) -> None:
    language = messages.locale_for(tx, None, user.phone)
    text = messages.install_link(tx, language, app.name)
    payload = {"to": user.phone.e164, "body": text, "code": None, "sandbox": app.settings.sandbox}
    outbox.enqueue(tx, "sms", payload, app_id=app.id)


def parse_authy_id(value: object) -> int | None:
    text = str(value)
    if not text.isdigit() or len(text) > 18:
        return None
    return int(text)


def get(tx: Tx, app: App, authy_id: object) -> User:
    """The user registered in ``app`` under this id (pending deletion included), else UserNotFound:
    another application's users are invisible."""
    person_id = parse_authy_id(authy_id)
    row = q.find_user(tx.conn, app.id, person_id) if person_id is not None else None
    if row is None:
        raise UserNotFound
    return _user(row)


def get_with_devices(
    tx: Tx, app: App, authy_id: object, counter: tuple[str, int] | None = None
) -> tuple[User, list[AppDevice], tuple[int, datetime | None] | None]:
    """``get``, the person's active devices that serve the application (newest first), and with
    ``counter`` (a rate-limit bucket and window, subject ``{app}:{person}``, counted in the
    database) the hits in the window and the oldest of them — one query."""
    person_id = parse_authy_id(authy_id)
    if person_id is None:
        raise UserNotFound
    since = None
    if counter is not None:
        bucket, window_seconds = counter
        since = (bucket, f"{app.id}:{person_id}", tx.now - timedelta(seconds=window_seconds))
    found = q.find_user_with_devices(tx.conn, app.id, person_id, since)
    if found is None:
        raise UserNotFound
    return _user(found.user), found.devices, found.hits


def for_verification(
    tx: Tx, app: App, authy_id: object, bucket: str, window_seconds: int
) -> tuple[User, int, datetime | None, bool, list[SeedRow]] | None:
    """What a verification needs first, in one query (store.users.verification_context): the
    user (row-locked), the failures counted in ``bucket`` over the window, the oldest of them,
    whether a sent code is outstanding, and the seeds of the person's active devices; None if
    there is no such user. Counters in the database only: with Redis they are counted there."""
    person_id = parse_authy_id(authy_id)
    if person_id is None:
        return None
    found = q.verification_context(
        tx.conn,
        app.id,
        person_id,
        bucket=bucket,
        subject=f"{app.id}:{person_id}",
        since=tx.now - timedelta(seconds=window_seconds),
        now=tx.now,
    )
    if found is None:
        return None
    user = _user(found.user)
    return user, found.failures, found.oldest_failure, found.has_live_codes, found.seeds


def get_for_update(tx: Tx, app: App, authy_id: object) -> User:
    """``get``, holding the registration's row lock until the transaction ends."""
    person_id = parse_authy_id(authy_id)
    row = q.find_user(tx.conn, app.id, person_id, for_update=True) if person_id else None
    if row is None:
        raise UserNotFound
    return _user(row)


def remove(tx: Tx, app: App, authy_id: object) -> User:
    """Disable the user now and purge them after the configured delay. Removing twice is harmless."""
    user = get(tx, app, authy_id)
    purge_after = tx.now + timedelta(seconds=tx.settings.user_purge_delay_seconds)
    if user.deleted_at is None:
        q.mark_deleted(tx.conn, user.app_user_id, now=tx.now, purge_after=purge_after)
        events.for_user(tx, user, "user_removed")
    return user


def register_activity(
    tx: Tx,
    app: App,
    authy_id: object,
    *,
    type_: str | None,
    user_ip: str | None,
    data: dict[str, Any] | None,
) -> None:
    user = get(tx, app, authy_id)
    if type_ not in ACTIVITY_TYPES:
        raise InvalidParameter("type", "Must be one of " + ", ".join(ACTIVITY_TYPES))
    q.add_activity(
        tx.conn,
        app_id=app.id,
        person_id=user.authy_id,
        type_=type_,
        user_ip=user_ip,
        data=data,
        now=tx.now,
    )
    if type_ in ("banned", "unbanned"):
        q.set_banned(tx.conn, user.app_user_id, type_ == "banned", tx.now)
    if type_ == "banned" and not user.banned:
        events.for_user(tx, user, "suspended_account", activity={"s_type": type_})


def update_email(tx: Tx, app: App, authy_id: object, email: object) -> User:
    user = get(tx, app, authy_id)
    address = normalise_email(email)
    if address is None:
        raise UserNotValid({"email": INVALID})
    q.set_email(tx.conn, user.app_user_id, address, tx.now)
    return get(tx, app, user.authy_id)


def purge_due(tx: Tx) -> int:
    """Finish deletions whose delay has passed (run by the worker)."""
    return len(q.purge_due(tx.conn, tx.now))


@dataclass(frozen=True, slots=True)
class UserStatus:
    registered: bool
    masked_phone: str
    device_types: list[str]
    detailed_devices: list[dict[str, Any]]
    deleted_devices: list[dict[str, Any]]


def _epoch(value: datetime | None) -> int:
    return int(value.timestamp()) if value is not None else 0


def _detailed(device: Any) -> dict[str, Any]:
    return {
        "device_type": device.device_type,
        "os_type": device.os_type,
        "registration_device_id": None,
        "registration_method": device.registration_method,
        "device_id": device.id,
        "last_sync_date": _epoch(device.last_sync_at),
        "creation_date": _epoch(device.created_at),
    }


def status(tx: Tx, user: User) -> UserStatus:
    """U2: what the person's authenticators look like, as Authy reported them."""
    found = device_q.for_app(tx.conn, user.authy_id, user.app_id)
    active = [d for d in found if d.status == "active" and d.seed_revoked_at is None]
    deleted = [d for d in found if d.status == "revoked" or d.seed_revoked_at is not None]
    return UserStatus(
        registered=bool(active),
        masked_phone=mask_status(user.phone),
        device_types=[d.os_type for d in active],
        detailed_devices=[_detailed(d) for d in active],
        deleted_devices=[_detailed(d) for d in deleted],
    )
