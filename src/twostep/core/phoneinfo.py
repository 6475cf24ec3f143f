"""Phone intelligence from the offline data shipped with ``phonenumbers`` (number type by numbering
plan, carrier by the range the number was originally allocated from). Pure. The limits of offline
data are described in docs/phone-intelligence.md."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import phonenumbers
from phonenumbers import PhoneNumberType, carrier

from twostep.core.phone import Phone

PhoneType = Literal["cellphone", "landline", "voip", "unknown"]

_TYPES: dict[int, PhoneType] = {
    PhoneNumberType.MOBILE: "cellphone",
    # Numbering plans that do not tell mobile from fixed ranges (the US, Canada and the rest of
    # +1, a few others): reported as cellphone, see docs/compat.md.
    PhoneNumberType.FIXED_LINE_OR_MOBILE: "cellphone",
    PhoneNumberType.FIXED_LINE: "landline",
    PhoneNumberType.VOIP: "voip",
}

SANDBOX_PROVIDER = "Google Voice"


@dataclass(frozen=True, slots=True)
class PhoneInfo:
    type: PhoneType
    provider: str  # "" when unknown
    ported: bool = False  # offline data cannot know about porting

    @property
    def is_cellphone(self) -> bool:
        return self.type == "cellphone"


def phone_type(phone: Phone) -> PhoneType:
    kind = phonenumbers.number_type(phonenumbers.parse(phone.e164))
    return _TYPES.get(kind, "unknown")


def provider(phone: Phone) -> str:
    """The carrier the number range was allocated to, in English; "" when the data has none (as
    for every +1 number: their carriers are not published by range)."""
    name: str = carrier.name_for_number(phonenumbers.parse(phone.e164), "en")
    return name


def lookup(phone: Phone) -> PhoneInfo:
    return PhoneInfo(phone_type(phone), provider(phone))


def sandbox_lookup(phone: Phone) -> PhoneInfo:
    """The old sandbox's canned answers, deterministic per number: landline when the last digit
    is even, voip when it is odd, always "Google Voice", never ported."""
    even = int(phone.national_number[-1]) % 2 == 0
    return PhoneInfo("landline" if even else "voip", SANDBOX_PROVIDER)
