from __future__ import annotations

import socket
from collections.abc import Iterator
from email import message_from_bytes, policy
from email.message import EmailMessage as MimeMessage

import pytest

from tests.delivery.fakes import FakeSmtp, Tls, closed_port_url
from twostep.delivery.base import (
    CENSORED,
    ConfigProblem,
    DeliveryResult,
    EmailMessage,
    censor,
)
from twostep.delivery.smtp import SPEC, Smtp, message_id

pytestmark = pytest.mark.anyio

PASSWORD = "smtp-password-s3cret"
MAIL = EmailMessage(
    to="alice@example.org",
    subject="Votre code: 123456",
    body="Bonjour,\nvotre code est 123456.\n",
    idempotency_key="mail-1",
)


def smtp(port: int, **overrides: str) -> Smtp:
    config = {
        "host": "127.0.0.1",
        "port": str(port),
        "from_address": "TwoStep <no-reply@twostep.test>",
        "starttls": "false",
        "timeout": "5",
        **overrides,
    }
    return Smtp(SPEC.validate(config))


def parsed(data: bytes) -> MimeMessage:
    message = message_from_bytes(data, policy=policy.default)
    assert isinstance(message, MimeMessage)
    return message


@pytest.fixture
def relay() -> Iterator[FakeSmtp]:
    with FakeSmtp() as server:
        yield server


async def test_plain_relay_receives_the_message(relay: FakeSmtp) -> None:
    result = await smtp(relay.port).send_email(MAIL)

    expected_id = message_id("mail-1", "twostep.test")
    assert result == DeliveryResult(ok=True, provider="smtp", detail=expected_id)
    [mail] = relay.mails
    assert mail.mail_from == "no-reply@twostep.test"
    assert mail.rcpt_tos == ["alice@example.org"]
    message = parsed(mail.data)
    assert message["From"] == "TwoStep <no-reply@twostep.test>"
    assert message["To"] == "alice@example.org"
    assert message["Subject"] == "Votre code: 123456"
    assert message["Message-ID"] == expected_id
    assert message["Auto-Submitted"] == "auto-generated"
    assert message["Date"]
    body = message.get_body()
    assert body is not None
    assert body.get_content().replace("\r\n", "\n") == MAIL.body


async def test_every_attempt_has_the_same_message_id(relay: FakeSmtp) -> None:
    provider = smtp(relay.port)
    first = await provider.send_email(MAIL)
    again = await provider.send_email(MAIL)
    other = await provider.send_email(
        EmailMessage(to=MAIL.to, subject="s", body="b", idempotency_key="mail-2")
    )
    assert first.detail == again.detail
    assert first.detail != other.detail
    assert "mail-1" not in first.detail  # derived, not the key itself
    assert [parsed(m.data)["Message-ID"] for m in relay.mails] == [
        first.detail,
        first.detail,
        other.detail,
    ]


async def test_starttls_then_login(tls: Tls) -> None:
    with FakeSmtp(tls=tls, credentials=("mailer", PASSWORD)) as relay:
        provider = smtp(
            relay.port, starttls="true", username="mailer", password=PASSWORD, ca_file=str(tls.ca)
        )
        result = await provider.send_email(MAIL)
    assert result.ok
    [mail] = relay.mails
    assert mail.tls is True
    assert mail.login == "mailer"


async def test_implicit_tls(tls: Tls) -> None:
    with FakeSmtp(tls=tls, implicit_tls=True, credentials=("mailer", PASSWORD)) as relay:
        provider = smtp(
            relay.port, use_tls="true", username="mailer", password=PASSWORD, ca_file=str(tls.ca)
        )
        result = await provider.send_email(MAIL)
    assert result.ok
    assert relay.mails[0].tls is True


async def test_untrusted_certificate_is_a_retryable_connection_error(tls: Tls) -> None:
    with FakeSmtp(tls=tls) as relay:
        result = await smtp(relay.port, starttls="true").send_email(MAIL)  # system CAs only
    assert result.retry is True
    assert result.detail == "connection error (SSLCertVerificationError)"
    assert relay.mails == []


async def test_starttls_required_but_not_offered(relay: FakeSmtp) -> None:
    result = await smtp(relay.port, starttls="true").send_email(MAIL)
    assert result.retry is True
    assert "STARTTLS" in result.detail
    assert relay.mails == []


async def test_refused_login_is_retryable_and_keeps_the_password_out(tls: Tls) -> None:
    with FakeSmtp(tls=tls, credentials=("mailer", PASSWORD)) as relay:
        provider = smtp(
            relay.port, starttls="true", username="mailer", password="wrong", ca_file=str(tls.ca)
        )
        result = await provider.send_email(MAIL)
    assert result == DeliveryResult(
        ok=False, provider="smtp", retry=True, detail="authentication failed: 535"
    )
    assert set(relay.logins) == {("mailer", "wrong")}  # smtplib tries PLAIN, then LOGIN


@pytest.mark.parametrize(
    ("stage", "reply", "retry"),
    [
        ("rcpt", "550 5.1.1 <alice@example.org>: no such user", False),
        ("rcpt", "452 4.2.2 mailbox full", True),
        ("data", "554 5.7.1 message refused as spam", False),
        ("data", "451 4.3.0 try again later", True),
    ],
)
async def test_refusals_by_reply_code(relay: FakeSmtp, stage: str, reply: str, retry: bool) -> None:
    (relay.rcpt_replies if stage == "rcpt" else relay.data_replies).append(reply)
    result = await smtp(relay.port).send_email(MAIL)
    assert not result.ok
    assert result.retry is retry
    assert reply in result.detail
    assert relay.mails == []


async def test_nothing_listening_is_retryable() -> None:
    port = int(closed_port_url().rsplit(":", 1)[1])
    result = await smtp(port).send_email(MAIL)
    assert result == DeliveryResult(
        ok=False, provider="smtp", retry=True, detail="connection error (ConnectionRefusedError)"
    )


async def test_a_relay_that_never_greets_times_out() -> None:
    with socket.create_server(("127.0.0.1", 0)) as silent:  # listens, never answers
        result = await smtp(silent.getsockname()[1], timeout="0.3").send_email(MAIL)
    assert result == DeliveryResult(ok=False, provider="smtp", retry=True, detail="timeout")


@pytest.mark.parametrize(
    "message",
    [
        EmailMessage(to="a@example.org, b@example.org", subject="s", body="b", idempotency_key="k"),
        EmailMessage(
            to="a@example.org\r\nBcc: b@x.org", subject="s", body="b", idempotency_key="k"
        ),
        EmailMessage(
            to="a@example.org", subject="s\r\nBcc: b@x.org", body="b", idempotency_key="k"
        ),
    ],
)
async def test_header_injection_is_refused_for_good(relay: FakeSmtp, message: EmailMessage) -> None:
    result = await smtp(relay.port).send_email(message)
    assert result.retry is False
    assert not result.ok
    assert relay.mails == []


def test_configuration() -> None:
    base = {"host": "mail.example.org", "from_address": "no-reply@example.org"}
    assert Smtp(SPEC.validate(base))._port == 587
    assert Smtp(SPEC.validate({**base, "use_tls": "true"}))._port == 465
    for bad in (
        {"port": "70000"},
        {"port": "smtp"},
        {"starttls": "maybe"},
        {"timeout": "-1"},
        {"from_address": "not an address"},
        {"ca_file": "/nonexistent/ca.pem"},
    ):
        with pytest.raises(ConfigProblem, match="smtp: "):
            Smtp(SPEC.validate({**base, **bad}))
    with pytest.raises(ConfigProblem, match="host is required"):
        SPEC.validate({"from_address": "no-reply@example.org"})
    assert censor(SPEC, {**base, "password": PASSWORD})["password"] == CENSORED
    assert SPEC.secret_fields == {"password"}
