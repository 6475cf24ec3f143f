"""Phone intelligence (P4) and the phone-number parsing shared by the phone-verification API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from twostep.core import phoneinfo
from twostep.core.phone import Phone, PhoneError, normalise
from twostep.core.phoneinfo import PhoneInfo
from twostep.errors import InvalidParameter, InvalidPhoneNumber
from twostep.services.apps import App
from twostep.services.runtime import Tx


@dataclass(frozen=True, slots=True)
class Lookup:
    phone: Phone
    info: PhoneInfo
    as_of: datetime  # the server clock when the answer was made


def parse_phone(app: App, country_code: object, phone_number: object) -> Phone:
    """The number given as ``country_code`` + ``phone_number`` (separators allowed): 60004 when
    either is missing, 60033 when it is not a valid number. Sandbox applications accept any number
    of a possible length for the country, as the old sandbox did (``111-111-1111``)."""
    if country_code is None:
        raise InvalidParameter("country_code")
    if phone_number is None:
        raise InvalidParameter("phone_number")
    try:
        return normalise(country_code, phone_number, strict=not app.settings.sandbox)
    except PhoneError:
        raise InvalidPhoneNumber from None


def info_for(app: App, phone: Phone) -> PhoneInfo:
    """Offline data, or the sandbox's canned answers for a sandbox application."""
    return phoneinfo.sandbox_lookup(phone) if app.settings.sandbox else phoneinfo.lookup(phone)


def lookup(tx: Tx, app: App, *, country_code: object, phone_number: object) -> Lookup:
    phone = parse_phone(app, country_code, phone_number)
    return Lookup(phone, info_for(app, phone), tx.now)
