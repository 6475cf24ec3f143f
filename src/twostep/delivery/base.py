"""What every delivery channel looks like: a message type, a small provider protocol per channel, and
a self-description of each provider's configuration (which fields are secret).

Providers are async, reach their service over HTTP (httpx) or SMTP, and never raise for delivery
failures: they return a DeliveryResult saying whether a retry may help."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Protocol

import httpx


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    ok: bool
    provider: str
    retry: bool = True  # on failure: would trying again (later or elsewhere) help?
    detail: str = ""  # provider message id on success, a short reason on failure; never a secret


@dataclass(frozen=True, slots=True)
class SmsMessage:
    to: str  # E.164
    body: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class VoiceMessage:
    to: str  # E.164
    text: str  # what the speech engine says
    language: str  # the message's locale, e.g. "es", "zh-cn"
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class EmailMessage:
    to: str
    subject: str
    body: str
    idempotency_key: str


@dataclass(frozen=True, slots=True)
class PushMessage:
    """A wake-up for an authenticator. It carries no secret: the device fetches what waits for it
    over its own authenticated channel."""

    address: str  # "<scheme>:<provider-specific address>", e.g. "fcm:<token>", "ntfy:<topic url>"
    title: str
    body: str
    data: dict[str, str]
    idempotency_key: str


class SmsSender(Protocol):
    name: str

    async def send_sms(self, message: SmsMessage) -> DeliveryResult: ...


class VoiceCaller(Protocol):
    name: str

    async def call(self, message: VoiceMessage) -> DeliveryResult: ...


class EmailSender(Protocol):
    name: str

    async def send_email(self, message: EmailMessage) -> DeliveryResult: ...


class PushSender(Protocol):
    name: str
    schemes: tuple[str, ...]  # the address schemes this provider delivers to

    async def push(self, message: PushMessage) -> DeliveryResult: ...


@dataclass(frozen=True, slots=True)
class ConfigField:
    name: str
    required: bool = True
    secret: bool = False  # encrypted at rest, never printed back
    help: str = ""
    default: str = ""


class ConfigProblem(ValueError):
    """A provider's configuration is missing or wrong; the message names the field."""


@dataclass(frozen=True)
class ProviderSpec:
    """Self-description of a provider: its name, the channels it serves and its configuration."""

    name: str
    channels: tuple[str, ...]  # of "sms", "voice", "email", "push"
    fields: tuple[ConfigField, ...]
    # builds the provider from validated configuration and the shared HTTP client
    factory: Callable[[Mapping[str, str], httpx.AsyncClient], object] = field(repr=False)

    def validate(self, config: Mapping[str, str]) -> dict[str, str]:
        known = {f.name for f in self.fields}
        unknown = sorted(set(config) - known)
        if unknown:
            raise ConfigProblem(f"{self.name}: unknown setting(s) {', '.join(unknown)}")
        values: dict[str, str] = {}
        for f in self.fields:
            value = config.get(f.name, f.default)
            if f.required and not value:
                raise ConfigProblem(f"{self.name}: {f.name} is required ({f.help})")
            values[f.name] = value
        return values

    @property
    def secret_fields(self) -> frozenset[str]:
        return frozenset(f.name for f in self.fields if f.secret)


CENSORED = "__CENSORED__"


def censor(spec: ProviderSpec, config: Mapping[str, str]) -> dict[str, str]:
    """Configuration safe to print: secret values replaced."""
    return {k: (CENSORED if k in spec.secret_fields and v else v) for k, v in config.items()}
