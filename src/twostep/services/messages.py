"""The texts TwoStep sends, from the message catalogues, in the person's language."""

from __future__ import annotations

from dataclasses import dataclass

from twostep import i18n
from twostep.core.codes import spell_digits
from twostep.core.phone import Phone, region_for
from twostep.services.runtime import Tx


@dataclass(frozen=True, slots=True)
class Email:
    subject: str
    body: str


def locale_for(tx: Tx, requested: str | None, phone: Phone) -> str:
    """The requested locale (UnsupportedLocale if we have no catalogue for it), else the phone's
    country's language, else English."""
    region = phone.region or region_for(phone.country_code, phone.national_number)
    return tx.catalogs.resolve(requested or None, region)


def _with_action(text: str, action_message: str | None) -> str:
    return f"{action_message}\n{text}" if action_message else text


def sms_code(tx: Tx, locale: str, app_name: str, code: str, action_message: str | None) -> str:
    text = tx.catalogs.text(locale, i18n.SMS_TOKEN, app_name=app_name, code=code)
    return _with_action(text, action_message)


def voice_code(tx: Tx, locale: str, app_name: str, code: str, action_message: str | None) -> str:
    text = tx.catalogs.text(
        locale, i18n.VOICE_TOKEN, app_name=app_name, spelled_code=spell_digits(code)
    )
    return _with_action(text, action_message)


def email_code(tx: Tx, locale: str, app_name: str, code: str, action_message: str | None) -> Email:
    minutes = str(max(1, tx.settings.code_ttl_seconds // 60))
    subject = tx.catalogs.text(locale, i18n.EMAIL_SUBJECT, app_name=app_name)
    body = tx.catalogs.text(locale, i18n.EMAIL_BODY, app_name=app_name, code=code, minutes=minutes)
    return Email(subject, _with_action(body, action_message))


def install_link(tx: Tx, locale: str, app_name: str) -> str:
    url = f"{tx.settings.resolved_public_url}/authenticator"
    return tx.catalogs.text(locale, i18n.INSTALL_LINK_SMS, app_name=app_name, url=url)
