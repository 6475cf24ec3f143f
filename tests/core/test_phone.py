from __future__ import annotations

import phonenumbers
import pytest

from twostep.core import phone


def test_normalises_us_number_with_separators() -> None:
    p = phone.normalise("1", "(201) 555-0123")
    assert p == phone.Phone(1, "2015550123", "+12015550123", "US")


def test_country_code_may_be_an_int_or_plus_prefixed() -> None:
    assert phone.normalise(351, "911 234 567").e164 == "+351911234567"
    assert phone.normalise("+57", "310 555 1212").country_code == 57


def test_national_trunk_prefix_is_dropped() -> None:
    assert phone.normalise(44, "07911 123456").e164 == "+447911123456"


@pytest.mark.parametrize(
    ("cc", "number", "field"),
    [
        ("1", "123", "cellphone"),
        ("1", "555-CALL-NOW", "cellphone"),
        ("999", "2015550123", "country_code"),
        ("abc", "2015550123", "country_code"),
        ("", "2015550123", "country_code"),
        ("1", "", "cellphone"),
        ("1", None, "cellphone"),
        ("1", "+44 7911 123456", "cellphone"),
    ],
)
def test_invalid_input_names_the_field(cc: str, number: str | None, field: str) -> None:
    with pytest.raises(phone.PhoneError) as err:
        phone.normalise(cc, number)
    assert err.value.field == field


def test_lenient_mode_accepts_possible_but_unassigned_numbers() -> None:
    with pytest.raises(phone.PhoneError):
        phone.normalise(1, "111-111-1111")
    assert phone.normalise(1, "111-111-1111", strict=False).e164 == "+11111111111"


def test_masks_follow_the_authy_formats() -> None:
    us = phone.normalise(1, "201-555-0134")
    assert phone.mask_cellphone(us) == "+1-XXX-XXX-XX34"
    assert phone.mask_status(us) == "XXX-XXX-0134"
    pt = phone.normalise(351, "911234567")
    assert phone.mask_cellphone(pt) == "+351-XXX-XXX-XX67"


def test_display_uses_the_international_format() -> None:
    assert phone.display(phone.normalise(1, "2015550123")) == "+1 201-555-0123"
    assert phone.display(phone.normalise(54, "3173389302", strict=False)).startswith("+54 ")


def test_from_e164_round_trips() -> None:
    p = phone.normalise(57, "3105551212")
    assert phone.from_e164(p.e164) == p


def test_region_for_stored_parts_agrees_with_parsing_the_number() -> None:
    """Every region's example numbers (fixed line, mobile, toll free), split as they are stored."""
    checked = 0
    for region in sorted(phonenumbers.SUPPORTED_REGIONS):
        for kind in (
            phonenumbers.PhoneNumberType.FIXED_LINE,
            phonenumbers.PhoneNumberType.MOBILE,
            phonenumbers.PhoneNumberType.TOLL_FREE,
        ):
            example = phonenumbers.example_number_for_type(region, kind)
            if example is None:
                continue
            e164 = phonenumbers.format_number(example, phonenumbers.PhoneNumberFormat.E164)
            national = e164.removeprefix(f"+{example.country_code}")
            assert phone.region_for(example.country_code, national) == phone.region_of(e164), e164
            checked += 1
    assert checked > 500
