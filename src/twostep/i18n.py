"""Message catalogues for the texts TwoStep sends (SMS, voice calls, email) and for the
phone-verification API's messages, in the 29 locales the Authy API accepts.

The gettext ``.po`` files are parsed once, when :class:`Catalogs` is built, into plain dicts with
the English text already filled in for anything a locale lacks, so :meth:`Catalogs.text` is one
dict lookup plus ``str.format`` on the delivery hot path. Message ids are the English source
texts (gettext convention), with ``str.format`` placeholders."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from string import Formatter

from babel.core import get_global
from babel.languages import get_official_languages
from babel.messages.pofile import read_po

from twostep.errors import UnsupportedLocale

SUPPORTED: tuple[str, ...] = (
    "ar", "zh-hk", "ca", "da", "nl", "en", "fi", "fr", "de", "el", "he", "hi", "hu", "id", "it",
    "ja", "ko", "zh-cn", "nb", "pl", "pt", "ro", "ru", "es", "sv", "tl", "th", "tr", "vi",
)  # fmt: skip
DEFAULT = "en"
DOMAIN = "messages"
LOCALES_DIR = Path(__file__).parent / "locales"

SMS_TOKEN = "Your {app_name} verification code is: {code}"  # noqa: S105 - a message, not a secret
VOICE_TOKEN = (
    "Hello. Your {app_name} verification code is: {spelled_code}. "  # noqa: S105 - not a secret
    "Once again, your code is: {spelled_code}. Goodbye."
)
EMAIL_SUBJECT = "Your {app_name} verification code"
EMAIL_BODY = (
    "Your {app_name} verification code is: {code}\n\n"
    "The code expires in {minutes} minutes. If you did not ask for it, you can ignore this email."
)
INSTALL_LINK_SMS = (
    "{app_name} protects your account with TwoStep. "
    "Set up the authenticator to approve sign-ins from your phone: {url}"
)
DEVICE_PIN_SMS = "Your TwoStep device registration code is: {code}. Do not share it with anyone."
DEVICE_PIN_VOICE = (
    "Hello. Your TwoStep device registration code is: {spelled_code}. "
    "Once again: {spelled_code}. Goodbye."
)
PHONE_VERIFICATION_SMS = SMS_TOKEN
PHONE_VERIFICATION_VOICE = VOICE_TOKEN
VERIFY_SMS_SENT = "Text message sent to {number}."
VERIFY_CALL_STARTED = "Call to {number} initiated."

MESSAGE_IDS: tuple[str, ...] = (
    SMS_TOKEN,
    VOICE_TOKEN,
    EMAIL_SUBJECT,
    EMAIL_BODY,
    INSTALL_LINK_SMS,
    DEVICE_PIN_SMS,
    DEVICE_PIN_VOICE,
    VERIFY_SMS_SENT,
    VERIFY_CALL_STARTED,
)
"""Every distinct msgid, in catalogue order (the aliases share their originals' ids)."""

# Language tags that do not reduce to a supported code by dropping subtags: legacy ISO 639 codes,
# Norwegian (``no``/``nn`` users read Bokmål), and Filipino, which Authy spells ``tl``.
_ALIASES = {"iw": "he", "in": "id", "no": "nb", "nn": "nb", "fil": "tl"}
# Chinese is chosen by script; a region only decides when no script is given.
_TRADITIONAL_REGIONS = frozenset({"hk", "tw", "mo"})

# Regions where Babel's first supported official language is not what most users there read
# (see ``Catalogs.resolve`` for the rules).
_REGION_OVERRIDES = {
    "IN": "en",  # Babel lists Hindi first; most Indians do not read it, and such texts are English
    "UA": "en",  # Ukrainian is unsupported and Babel's de facto list then offers Russian
    "SO": "en",  # Somali is unsupported; few Somalis read Arabic, Babel's second language
    "KM": "fr",  # Comoros: Babel lists Arabic first; French is the written language of daily use
}


def placeholders(template: str) -> frozenset[str]:
    """The ``{names}`` a brace-format template uses."""
    return frozenset(name for _, name, _, _ in Formatter().parse(template) if name)


class Catalogs:
    """Translations for every loaded locale, and the rules that choose a locale."""

    def __init__(self, tables: dict[str, dict[str, str]]) -> None:
        if DEFAULT not in tables:
            raise ValueError(f"the {DEFAULT!r} catalogue is required")
        english = tables[DEFAULT]
        self._tables = {loc: {**english, **tables[loc]} for loc in SUPPORTED if loc in tables}
        self._english = self._tables[DEFAULT]
        self._locales = tuple(self._tables)
        self._by_region = {region: self._choose_for_region(region) for region in _territories()}

    @classmethod
    def load(cls, directory: Path | None = None) -> Catalogs:
        """Read ``<directory>/<locale>/LC_MESSAGES/messages.po`` for each supported locale there."""
        root = LOCALES_DIR if directory is None else directory
        tables: dict[str, dict[str, str]] = {}
        for locale in SUPPORTED:
            path = root / locale / "LC_MESSAGES" / f"{DOMAIN}.po"
            if path.is_file():
                tables[locale] = _read(path)
        return cls(tables)

    def locales(self) -> tuple[str, ...]:
        return self._locales

    def normalise(self, requested: str) -> str | None:
        """The loaded locale a BCP 47 / POSIX tag asks for ("es-ES", "pt_BR", "zh-Hant"), else None.

        Region subtags are dropped (one catalogue per language) except for Chinese, where the
        script, or failing that the region, picks Traditional (zh-hk) or Simplified (zh-cn)."""
        tag = requested.strip().split(".")[0].split("@")[0].replace("_", "-").lower()
        if tag in self._tables:
            return tag
        primary, *rest = tag.split("-")
        candidate = _chinese(rest) if primary == "zh" else _ALIASES.get(primary, primary)
        return candidate if candidate in self._tables else None

    def resolve(self, requested: str | None, region: str | None) -> str:
        """The explicit locale if one was asked for (refusing unsupported ones), else the locale for
        the phone number's ISO 3166 region, else English.

        A region gets one locale: the language most users there read. That is the first language
        Babel's CLDR data lists as official (de jure or de facto, national not regional) that we
        support, which is the majority language first, except in the few ``_REGION_OVERRIDES``.
        Where no official language is supported, English. For multilingual countries this gives:
        Canada en (a number cannot tell Québec apart; ask for "fr" explicitly), Switzerland de,
        Belgium nl, Luxembourg fr, Finland fi, Cyprus el, Israel he, Hong Kong, Macau and Taiwan
        zh-hk (Traditional script), Singapore en, Philippines en (listed first and the usual
        language of such texts; "tl" on request), India en (override), Pakistan, Malaysia, Kenya
        en (local language unsupported, English official or common), Ukraine en (override),
        Belarus and Kazakhstan ru (official and most read), Baltic states en."""
        if requested:
            locale = self.normalise(requested)
            if locale is None:
                raise UnsupportedLocale(requested)
            return locale
        if not region:
            return DEFAULT
        return self._by_region.get(region.upper(), DEFAULT)

    def text(self, locale: str, message_id: str, **values: str) -> str:
        """The message in ``locale`` (English for an unknown locale or message), formatted."""
        table = self._tables.get(locale, self._english)
        return table.get(message_id, message_id).format(**values)

    def _choose_for_region(self, region: str) -> str:
        """The first supported language Babel lists as official (de jure or de facto) in ``region``,
        unless overridden; English when none is supported."""
        override = _REGION_OVERRIDES.get(region)
        if override is not None and override in self._tables:
            return override
        for language in get_official_languages(region, regional=False, de_facto=True):
            locale = self.normalise(language)
            if locale is not None:
                return locale
        return DEFAULT


def _chinese(subtags: list[str]) -> str:
    if "hans" in subtags:
        return "zh-cn"
    if "hant" in subtags or _TRADITIONAL_REGIONS.intersection(subtags):
        return "zh-hk"
    return "zh-cn"


def _territories() -> list[str]:
    territories: Mapping[str, object] = get_global("territory_languages")
    return list(territories)


def _read(path: Path) -> dict[str, str]:
    """The translated, non-fuzzy messages of one ``.po`` file. A translation whose placeholders
    differ from its msgid's is refused here, at start-up, rather than later in ``str.format``."""
    with path.open("rb") as handle:
        catalog = read_po(handle, domain=DOMAIN)
    table: dict[str, str] = {}
    for message in catalog:
        if not message.id or message.fuzzy or not isinstance(message.id, str):
            continue
        if not isinstance(message.string, str) or not message.string:
            continue
        if placeholders(message.string) != placeholders(message.id):
            raise ValueError(f"{path}: placeholders differ for {message.id!r}")
        table[message.id] = message.string
    return table
