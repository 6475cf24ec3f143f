"""The message catalogues: completeness of every shipped ``.po`` file (read raw, so the English
fallback cannot hide a gap), locale normalisation, the region rules and formatting."""

from __future__ import annotations

import unicodedata
from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.pofile import read_po, write_po

from twostep import i18n
from twostep.errors import UnsupportedLocale
from twostep.i18n import Catalogs, placeholders

NAMED = (
    "SMS_TOKEN",
    "VOICE_TOKEN",
    "EMAIL_SUBJECT",
    "EMAIL_BODY",
    "INSTALL_LINK_SMS",
    "DEVICE_PIN_SMS",
    "DEVICE_PIN_VOICE",
    "PHONE_VERIFICATION_SMS",
    "PHONE_VERIFICATION_VOICE",
    "VERIFY_SMS_SENT",
    "VERIFY_CALL_STARTED",
)
VALUES = {
    "app_name": "Acme",
    "code": "123456",
    "spelled_code": "1, 2, 3, 4, 5, 6",
    "minutes": "10",
    "url": "https://example.com/i",
    "number": "+34 600 000 000",
}


@pytest.fixture(scope="module")
def catalogs() -> Catalogs:
    return Catalogs.load()


def raw_catalog(locale: str) -> Catalog:
    path = i18n.LOCALES_DIR / locale / "LC_MESSAGES" / "messages.po"
    with path.open("rb") as handle:
        return read_po(handle)


def entries(catalog: Catalog) -> dict[str, str]:
    return {
        m.id: m.string
        for m in catalog
        if m.id and isinstance(m.id, str) and isinstance(m.string, str)
    }


def test_supported_is_the_authy_list() -> None:
    assert len(i18n.SUPPORTED) == 29
    assert len(set(i18n.SUPPORTED)) == 29
    assert all(code == code.lower() for code in i18n.SUPPORTED)
    assert {"zh-hk", "zh-cn", "nb", "tl", "he", "id"} <= set(i18n.SUPPORTED)


def test_every_supported_locale_loads(catalogs: Catalogs) -> None:
    assert catalogs.locales() == i18n.SUPPORTED


def test_named_constants_and_aliases() -> None:
    assert i18n.PHONE_VERIFICATION_SMS == i18n.SMS_TOKEN
    assert i18n.PHONE_VERIFICATION_VOICE == i18n.VOICE_TOKEN
    assert i18n.VERIFY_SMS_SENT == "Text message sent to {number}."
    assert i18n.VERIFY_CALL_STARTED == "Call to {number} initiated."
    assert {getattr(i18n, name) for name in NAMED} == set(i18n.MESSAGE_IDS)
    assert len(set(i18n.MESSAGE_IDS)) == len(i18n.MESSAGE_IDS)


def test_template_lists_exactly_the_message_ids() -> None:
    with (i18n.LOCALES_DIR / "messages.pot").open("rb") as handle:
        template = read_po(handle)
    found = entries(template)
    assert sorted(found) == sorted(i18n.MESSAGE_IDS)
    assert all(string == "" for string in found.values())
    assert all("python-brace-format" in m.flags for m in template if m.id)


@pytest.mark.parametrize("locale", i18n.SUPPORTED)
def test_catalogue_is_complete(locale: str) -> None:
    catalog = raw_catalog(locale)
    found = entries(catalog)
    assert sorted(found) == sorted(i18n.MESSAGE_IDS)
    for message in catalog:
        if not message.id:
            continue
        assert isinstance(message.string, str)
        assert message.string.strip(), f"{locale}: untranslated {message.id!r}"
        assert not message.fuzzy, f"{locale}: fuzzy {message.id!r}"
        assert "python-brace-format" in message.flags
        assert isinstance(message.id, str)
        assert placeholders(message.string) == placeholders(message.id), (locale, message.id)


def test_english_catalogue_is_the_identity() -> None:
    found = entries(raw_catalog("en"))
    assert all(msgid == msgstr for msgid, msgstr in found.items())


@pytest.mark.parametrize("locale", [loc for loc in i18n.SUPPORTED if loc != "en"])
def test_translations_are_not_english(locale: str) -> None:
    found = entries(raw_catalog(locale))
    for msgid in (i18n.SMS_TOKEN, i18n.VOICE_TOKEN, i18n.EMAIL_BODY, i18n.VERIFY_SMS_SENT):
        assert found[msgid] != msgid, (locale, msgid)


SCRIPTS = {
    "ar": "ARABIC",
    "he": "HEBREW",
    "el": "GREEK",
    "ru": "CYRILLIC",
    "hi": "DEVANAGARI",
    "th": "THAI",
    "ko": "HANGUL",
    "ja": "HIRAGANA",
    "zh-hk": "CJK UNIFIED IDEOGRAPH",
    "zh-cn": "CJK UNIFIED IDEOGRAPH",
}


@pytest.mark.parametrize(("locale", "script"), SCRIPTS.items())
def test_translations_use_the_locale_script(catalogs: Catalogs, locale: str, script: str) -> None:
    for msgid in i18n.MESSAGE_IDS:
        rendered = catalogs.text(locale, msgid, **VALUES)
        names = {unicodedata.name(ch, "") for ch in rendered if ch.isalpha()}
        assert any(name.startswith(script) for name in names), (locale, msgid)


def test_chinese_scripts_are_not_mixed(catalogs: Catalogs) -> None:
    traditional = catalogs.text("zh-hk", i18n.SMS_TOKEN, **VALUES)
    simplified = catalogs.text("zh-cn", i18n.SMS_TOKEN, **VALUES)
    assert "驗證碼" in traditional
    assert "验证码" in simplified
    assert "验" not in traditional
    assert "驗" not in simplified


@pytest.mark.parametrize("locale", i18n.SUPPORTED)
def test_every_message_formats(catalogs: Catalogs, locale: str) -> None:
    for msgid in i18n.MESSAGE_IDS:
        rendered = catalogs.text(locale, msgid, **VALUES)
        assert "{" not in rendered
        for name in placeholders(msgid):
            assert VALUES[name] in rendered, (locale, msgid, name)
    voice = catalogs.text(locale, i18n.VOICE_TOKEN, **VALUES)
    assert voice.count(VALUES["spelled_code"]) == 2


def test_text_formats_values(catalogs: Catalogs) -> None:
    assert (
        catalogs.text("en", i18n.SMS_TOKEN, app_name="Acme", code="042917")
        == "Your Acme verification code is: 042917"
    )
    assert (
        catalogs.text("es", i18n.VERIFY_SMS_SENT, number="+34 600 000 000")
        == "Mensaje de texto enviado a +34 600 000 000."
    )
    assert (
        catalogs.text("es", i18n.VERIFY_CALL_STARTED, number="+34 600 000 000")
        == "Llamada a +34 600 000 000 fue iniciada."
    )
    assert catalogs.text("de", i18n.EMAIL_SUBJECT, app_name="Acme") == ("Ihr Acme-Bestätigungscode")


def test_text_falls_back_to_english(catalogs: Catalogs) -> None:
    assert catalogs.text("xx", i18n.SMS_TOKEN, app_name="A", code="1") == (
        "Your A verification code is: 1"
    )
    assert catalogs.text("fr", "Unknown {thing}", thing="x") == "Unknown x"


def test_text_requires_every_placeholder(catalogs: Catalogs) -> None:
    with pytest.raises(KeyError):
        catalogs.text("fr", i18n.SMS_TOKEN, app_name="Acme")


@pytest.mark.parametrize(
    ("region", "locale"),
    [
        ("BR", "pt"),
        ("PT", "pt"),
        ("MX", "es"),
        ("ES", "es"),
        ("AR", "es"),
        ("US", "en"),
        ("GB", "en"),
        ("JP", "ja"),
        ("KR", "ko"),
        ("HK", "zh-hk"),
        ("TW", "zh-hk"),
        ("MO", "zh-hk"),
        ("CN", "zh-cn"),
        ("IL", "he"),
        ("NO", "nb"),
        ("SJ", "nb"),
        ("PH", "en"),
        ("IN", "en"),
        ("CA", "en"),
        ("CH", "de"),
        ("BE", "nl"),
        ("LU", "fr"),
        ("AT", "de"),
        ("FI", "fi"),
        ("SE", "sv"),
        ("DK", "da"),
        ("AD", "ca"),
        ("GR", "el"),
        ("CY", "el"),
        ("EG", "ar"),
        ("MA", "ar"),
        ("SA", "ar"),
        ("RU", "ru"),
        ("UA", "en"),
        ("ID", "id"),
        ("VN", "vi"),
        ("TH", "th"),
        ("TR", "tr"),
        ("PL", "pl"),
        ("RO", "ro"),
        ("MD", "ro"),
        ("HU", "hu"),
        ("IT", "it"),
        ("FR", "fr"),
        ("SN", "fr"),
        ("DE", "de"),
        ("NL", "nl"),
        ("SG", "en"),
        ("CZ", "en"),
        ("ZZ", "en"),
    ],
)
def test_resolve_by_region(catalogs: Catalogs, region: str, locale: str) -> None:
    assert catalogs.resolve(None, region) == locale
    assert catalogs.resolve("", region.lower()) == locale


def test_resolve_without_locale_or_region(catalogs: Catalogs) -> None:
    assert catalogs.resolve(None, None) == "en"
    assert catalogs.resolve(None, "") == "en"


@pytest.mark.parametrize(
    ("requested", "locale"),
    [
        ("es", "es"),
        ("es-ES", "es"),
        ("es_es", "es"),
        ("ES", "es"),
        ("es-419", "es"),
        ("pt-BR", "pt"),
        ("pt_PT", "pt"),
        ("en-US", "en"),
        ("zh-TW", "zh-hk"),
        ("zh-Hant", "zh-hk"),
        ("zh_Hant_TW", "zh-hk"),
        ("zh-HK", "zh-hk"),
        ("zh-hk", "zh-hk"),
        ("zh", "zh-cn"),
        ("zh-Hans", "zh-cn"),
        ("zh-Hans-HK", "zh-cn"),
        ("zh-CN", "zh-cn"),
        ("zh-SG", "zh-cn"),
        ("no", "nb"),
        ("nn", "nb"),
        ("nb-NO", "nb"),
        ("iw", "he"),
        ("he-IL", "he"),
        ("in", "id"),
        ("fil", "tl"),
        ("fil-PH", "tl"),
        ("tl", "tl"),
        ("de_DE.UTF-8", "de"),
        (" fr-CA ", "fr"),
    ],
)
def test_explicit_locale_is_normalised(catalogs: Catalogs, requested: str, locale: str) -> None:
    assert catalogs.normalise(requested) == locale
    assert catalogs.resolve(requested, "JP") == locale


@pytest.mark.parametrize("requested", ["xx", "uk", "sr-Latn", "klingon", "e", "-", "x-pt"])
def test_unsupported_explicit_locale_is_refused(catalogs: Catalogs, requested: str) -> None:
    assert catalogs.normalise(requested) is None
    with pytest.raises(UnsupportedLocale) as caught:
        catalogs.resolve(requested, "US")
    assert caught.value.locale == requested


def write_catalogue(root: Path, locale: str, messages: dict[str, str], *, fuzzy: str = "") -> None:
    catalog = Catalog(locale=None, domain="messages")
    for msgid, msgstr in messages.items():
        catalog.add(msgid, msgstr, flags=("fuzzy",) if msgid == fuzzy else ())
    path = root / locale / "LC_MESSAGES" / "messages.po"
    path.parent.mkdir(parents=True)
    with path.open("wb") as handle:
        write_po(handle, catalog)


def test_missing_or_fuzzy_translation_falls_back_to_english(tmp_path: Path) -> None:
    write_catalogue(tmp_path, "en", {m: m for m in i18n.MESSAGE_IDS})
    write_catalogue(
        tmp_path,
        "fr",
        {i18n.EMAIL_SUBJECT: "Votre code {app_name}", i18n.VERIFY_SMS_SENT: "SMS au {number}."},
        fuzzy=i18n.VERIFY_SMS_SENT,
    )
    loaded = Catalogs.load(tmp_path)
    assert loaded.locales() == ("en", "fr")
    assert loaded.text("fr", i18n.EMAIL_SUBJECT, app_name="A") == "Votre code A"
    assert loaded.text("fr", i18n.SMS_TOKEN, app_name="A", code="1") == (
        "Your A verification code is: 1"
    )
    assert loaded.text("fr", i18n.VERIFY_SMS_SENT, number="1") == "Text message sent to 1."
    assert loaded.normalise("de") is None
    assert loaded.resolve(None, "DE") == "en"
    assert loaded.resolve(None, "FR") == "fr"


def test_mismatched_placeholders_are_refused_at_load(tmp_path: Path) -> None:
    write_catalogue(tmp_path, "en", {m: m for m in i18n.MESSAGE_IDS})
    write_catalogue(tmp_path, "de", {i18n.SMS_TOKEN: "Ihr Code: {kode}"})
    with pytest.raises(ValueError, match="placeholders"):
        Catalogs.load(tmp_path)


def test_english_catalogue_is_required(tmp_path: Path) -> None:
    write_catalogue(tmp_path, "fr", {i18n.EMAIL_SUBJECT: "Votre code {app_name}"})
    with pytest.raises(ValueError, match="'en'"):
        Catalogs.load(tmp_path)
