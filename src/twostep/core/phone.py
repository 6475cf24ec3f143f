"""Phone numbers: validation, E.164 normalisation, Authy's masking and display formats. Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException, PhoneNumberFormat

_SEPARATORS = re.compile(r"[\s\-.()/]")


class PhoneError(ValueError):
    """``field`` names the input that is wrong: ``country_code`` or ``cellphone``."""

    def __init__(self, field: str) -> None:
        super().__init__(field)
        self.field = field


@dataclass(frozen=True, slots=True)
class Phone:
    country_code: int
    national_number: str
    e164: str
    region: str  # ISO 3166 code; "" when not looked up yet (see ``region_of``)


def plausible_number(number: object) -> bool:
    """Digits (with the usual separators) of a sane length, whatever the country."""
    text = _SEPARATORS.sub("", str(number) if number is not None else "").lstrip("+")
    return text.isdigit() and 3 <= len(text) <= 17


def parse_country_code(value: object) -> int:
    text = str(value).strip().lstrip("+") if value is not None else ""
    if not text.isdigit() or len(text) > 4:
        raise PhoneError("country_code")
    code = int(text)
    if phonenumbers.region_code_for_country_code(code) == "ZZ":
        raise PhoneError("country_code")
    return code


def normalise(country_code: object, number: object, *, strict: bool = True) -> Phone:
    """Validate ``number`` in the country ``country_code`` and return its canonical form.

    ``strict`` requires a number that is valid (assigned ranges); otherwise it only has to be a
    possible length for the country (what the old sandbox accepted)."""
    code = parse_country_code(country_code)
    text = _SEPARATORS.sub("", str(number) if number is not None else "")
    if text.startswith("+"):
        text = text[1:]
        if not text.startswith(str(code)):
            raise PhoneError("cellphone")
        text = text[len(str(code)) :]
    if not text.isdigit() or not 3 <= len(text) <= 17:
        raise PhoneError("cellphone")
    region = phonenumbers.region_code_for_country_code(code)
    try:
        # Parsing in the national format of the country strips a trunk prefix ("07700…" in the UK);
        # non-geographic codes ("001") have no national format.
        national_form = region != "001"
        parsed = phonenumbers.parse(text if national_form else f"+{code}{text}", region)
    except NumberParseException:
        raise PhoneError("cellphone") from None
    ok = phonenumbers.is_valid_number(parsed) if strict else phonenumbers.is_possible_number(parsed)
    if not ok or parsed.country_code != code:
        raise PhoneError("cellphone")
    national = str(parsed.national_number)
    if parsed.italian_leading_zero:
        national = "0" * (parsed.number_of_leading_zeros or 1) + national
    region = phonenumbers.region_code_for_number(parsed) or (
        phonenumbers.region_code_for_country_code(code)
    )
    return Phone(code, national, f"+{code}{national}", region)


def stored(country_code: int, national_number: str, e164: str, region: str | None) -> Phone:
    """A number read back from the database, with the region stored with it; rows from before it
    was stored have it looked up only when needed (``region_for``)."""
    return Phone(country_code, national_number, e164, region or "")


@lru_cache(maxsize=65536)
def region_of(e164: str) -> str:
    parsed = phonenumbers.parse(e164)
    region: str = phonenumbers.region_code_for_number(parsed) or (
        phonenumbers.region_code_for_country_code(int(parsed.country_code or 0))
    )
    return region


@lru_cache(maxsize=65536)
def region_for(country_code: int, national_number: str) -> str:
    """``region_of`` for a number already split into its parts (as stored), without parsing it
    again (~25 µs): a country code of one region names it; the dozen codes shared by several
    (+1, +7, +44, ...) are told apart by the number, as ``region_of`` does."""
    regions = phonenumbers.COUNTRY_CODE_TO_REGION_CODE.get(country_code, ())
    if len(regions) == 1:
        return str(regions[0])
    digits = national_number.lstrip("0")
    zeros = len(national_number) - len(digits)
    number = phonenumbers.PhoneNumber(
        country_code=country_code,
        national_number=int(digits or "0"),
        italian_leading_zero=zeros > 0 or None,
        number_of_leading_zeros=zeros if zeros > 1 else None,
    )
    region: str = phonenumbers.region_code_for_number(number) or (
        phonenumbers.region_code_for_country_code(country_code)
    )
    return region


def from_e164(e164: str) -> Phone:
    parsed = phonenumbers.parse(e164)
    code = int(parsed.country_code or 0)
    return Phone(code, e164.removeprefix(f"+{code}"), e164, region_of(e164))


def mask_cellphone(phone: Phone) -> str:
    """The SMS/call response mask: ``+1-XXX-XXX-XX34`` whatever the number's length."""
    return f"+{phone.country_code}-XXX-XXX-XX{phone.national_number[-2:]}"


def mask_status(phone: Phone) -> str:
    """The user-status mask: ``XXX-XXX-1118``."""
    return f"XXX-XXX-{phone.national_number[-4:]}"


def display(phone: Phone) -> str:
    """``+1 201-555-0123``: the international format used in phone-verification messages."""
    parsed = phonenumbers.parse(phone.e164)
    return phonenumbers.format_number(parsed, PhoneNumberFormat.INTERNATIONAL)
