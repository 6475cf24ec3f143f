"""Email through an SMTP relay, with the standard library's smtplib run in a worker thread (one
connection per message: codes are rare enough that pooling would only add stale-connection bugs).

Each message carries a Message-ID derived from its idempotency key, so a retried send that did
reach the relay the first time shows up as the same message and receivers can drop the copy."""

from __future__ import annotations

import email.policy
import hashlib
import smtplib
import ssl
from collections.abc import Mapping
from email.message import EmailMessage as MimeMessage
from email.utils import formatdate, parseaddr

import anyio.to_thread
import httpx

from twostep.delivery import _http
from twostep.delivery.base import (
    ConfigField,
    ConfigProblem,
    DeliveryResult,
    EmailMessage,
    ProviderSpec,
)

NAME = "smtp"
_ADDRESS_BREAKERS = frozenset(",;<>\"' \t\r\n")


def message_id(idempotency_key: str, domain: str) -> str:
    """A Message-ID that is the same for every attempt at one message, revealing nothing of it."""
    digest = hashlib.sha256(idempotency_key.encode()).hexdigest()[:40]
    return f"<{digest}.twostep@{domain}>"


def _single_address(value: str) -> bool:
    """One bare address: anything that could smuggle a second recipient is refused."""
    return value.count("@") == 1 and not set(value) & _ADDRESS_BREAKERS


def _refusal(what: str, code: int, text: bytes | str) -> tuple[str, bool]:
    """RFC 5321: 5xx is permanent (this message will never pass), 4xx is worth another try."""
    reply = text.decode(errors="replace") if isinstance(text, bytes) else text
    return f"{what}: {code} {reply}", not 500 <= code < 600


def classify(exc: smtplib.SMTPException | OSError) -> tuple[str, bool]:
    """What went wrong, and whether a retry may help."""
    if isinstance(exc, smtplib.SMTPAuthenticationError):
        # the relay refused *our* credentials: another provider may still deliver
        return f"authentication failed: {exc.smtp_code}", True
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        code, text = next(iter(exc.recipients.values()), (0, b""))
        return _refusal("recipient refused", code, text)
    if isinstance(exc, smtplib.SMTPResponseException):
        return _refusal("refused", exc.smtp_code, exc.smtp_error)
    if isinstance(exc, smtplib.SMTPNotSupportedError):
        return f"relay lacks a needed extension: {exc}", True
    if isinstance(exc, TimeoutError) or isinstance(exc.__context__, TimeoutError):
        return "timeout", True  # smtplib reports a read that timed out as a lost connection
    # lost connection, refused connection, DNS, TLS handshake (ssl.SSLError is an OSError)
    return f"connection error ({type(exc).__name__})", True


class Smtp:
    name = NAME

    def __init__(self, config: Mapping[str, str], http: httpx.AsyncClient | None = None) -> None:
        self._host = config["host"]
        self._use_tls = _http.parse_bool(NAME, "use_tls", config.get("use_tls", "false"))
        # implicit TLS already encrypts, so STARTTLS only applies to a plain connection
        starttls = _http.parse_bool(NAME, "starttls", config.get("starttls", "true"))
        self._starttls = starttls and not self._use_tls
        self._port = self._parse_port(config.get("port", ""))
        self._username = config.get("username", "")
        self._password = config.get("password", "")
        self._from = config["from_address"]
        self._envelope_from = parseaddr(self._from)[1]
        if not _single_address(self._envelope_from):
            raise ConfigProblem(f"{NAME}: from_address must hold one email address")
        self._domain = self._envelope_from.rpartition("@")[2]
        self._timeout = _http.parse_seconds(NAME, "timeout", config.get("timeout") or "10")
        ca_file = config.get("ca_file", "")
        try:
            self._tls = ssl.create_default_context(cafile=ca_file or None)
        except (OSError, ssl.SSLError) as exc:
            raise ConfigProblem(f"{NAME}: ca_file cannot be read as PEM certificates") from exc

    def _parse_port(self, value: str) -> int:
        if not value:
            return 465 if self._use_tls else 587
        if not value.isdigit() or not 0 < int(value) < 65536:
            raise ConfigProblem(f"{NAME}: port must be a TCP port number")
        return int(value)

    def compose(self, message: EmailMessage) -> MimeMessage:
        mime = MimeMessage(policy=email.policy.SMTP)
        mime["From"] = self._from
        mime["To"] = message.to
        mime["Subject"] = message.subject
        mime["Date"] = formatdate(usegmt=True)
        mime["Message-ID"] = message_id(message.idempotency_key, self._domain)
        mime["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies, please
        mime.set_content(message.body)
        return mime

    async def send_email(self, message: EmailMessage) -> DeliveryResult:
        if not _single_address(message.to):
            return _http.failed(NAME, "recipient is not a single email address", retry=False)
        try:
            mime = self.compose(message)
        except ValueError as exc:  # e.g. a line break in the subject
            return _http.failed(NAME, f"message cannot be encoded: {exc}", retry=False)
        try:
            await anyio.to_thread.run_sync(self._deliver, mime, message.to)
        except (smtplib.SMTPException, OSError) as exc:
            detail, retry = classify(exc)
            return _http.failed(NAME, detail, retry=retry, secrets=(self._password,))
        return DeliveryResult(ok=True, provider=NAME, detail=str(mime["Message-ID"]))

    def _deliver(self, mime: MimeMessage, recipient: str) -> None:
        """Blocking: connect, secure, log in, send. Runs in a worker thread."""
        connection: smtplib.SMTP
        if self._use_tls:
            connection = smtplib.SMTP_SSL(
                self._host, self._port, timeout=self._timeout, context=self._tls
            )
        else:
            connection = smtplib.SMTP(self._host, self._port, timeout=self._timeout)
        with connection:
            connection.ehlo()
            if self._starttls:
                connection.starttls(context=self._tls)
                connection.ehlo()
            if self._username:
                connection.login(self._username, self._password)
            # explicit envelope: the recipients are exactly the one address we checked
            connection.send_message(mime, from_addr=self._envelope_from, to_addrs=[recipient])


def _factory(config: Mapping[str, str], http: httpx.AsyncClient) -> Smtp:
    return Smtp(config, http)


SPEC = ProviderSpec(
    name=NAME,
    channels=("email",),
    fields=(
        ConfigField("host", help="the relay's host name"),
        ConfigField("port", required=False, help="default 587, or 465 with use_tls"),
        ConfigField("username", required=False, help="for SMTP AUTH; empty sends without login"),
        ConfigField("password", required=False, secret=True, help="for SMTP AUTH"),
        ConfigField("from_address", help='sender, e.g. "Example <no-reply@example.com>"'),
        ConfigField("starttls", required=False, default="true", help="upgrade with STARTTLS"),
        ConfigField("use_tls", required=False, default="false", help="implicit TLS (port 465)"),
        ConfigField("timeout", required=False, default="10", help="seconds per SMTP command"),
        ConfigField(
            "ca_file", required=False, help="PEM CA bundle to trust instead of the system's"
        ),
    ),
    factory=_factory,
)
