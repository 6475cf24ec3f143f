"""The authenticator's parts on their own: signatures and digests agree with the protocol document
(the independent test client) and with the server; the state file's permissions; codes; the
event-stream parser and reconnection; error texts; and that it never imports server internals."""

from __future__ import annotations

import ast
import json
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from email.utils import formatdate
from pathlib import Path
from typing import Any

import httpx
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import given
from hypothesis import strategies as st

import twostep.authenticator
from tests import device_client
from twostep.authenticator import protocol
from twostep.authenticator import state as files
from twostep.authenticator.client import ServerError, Unreachable, refusal
from twostep.authenticator.codes import current
from twostep.authenticator.session import ShownMismatch, check_shown, link_server
from twostep.authenticator.state import Account, State
from twostep.authenticator.watch import ServerEvent, Watch, parse
from twostep.core import signing
from twostep.services import approvals

text = st.text(st.characters(exclude_categories=["Cs"]), max_size=30)


@given(
    message=text,
    details=st.dictionaries(text, text, max_size=4),
    choices=st.none()
    | st.lists(st.from_regex(r"[1-9][0-9]", fullmatch=True), min_size=3, max_size=3),
)
def test_shown_digest_agrees_with_the_document_and_the_server(
    message: str, details: dict[str, str], choices: list[str] | None
) -> None:
    shown = {
        "app_name": "Acme \u00e9\u6f22 \U0001f600",
        "message": message,
        "details": details,
        "logos": [{"res": "default", "url": "https://example.com/a.png?x=1&y=\u00e9"}],
        "number_choices": choices,
    }
    digest = protocol.shown_digest(shown)
    assert digest == device_client.shown_digest(shown)
    assert digest == approvals.shown_digest(shown)


def test_control_characters_and_separators_digest_alike() -> None:
    shown = {"message": 'a\x00b\x1f\x7f\u2028\u2029"\\/\t\n', "details": {"\u00e9": "</script>"}}
    assert protocol.shown_digest(shown) == approvals.shown_digest(shown)


def test_signed_requests_and_answers_verify() -> None:
    key = protocol.DeviceKey.generate()
    public = protocol.from_b64url(key.public_b64url)
    body = b'{"a":1}'
    canonical = protocol.canonical_request(
        "post", "/device/v1/x?status=pending", 17, "n" * 16, body
    )
    assert canonical == device_client.canonical_request(
        "POST", "/device/v1/x?status=pending", 17, "n" * 16, body
    )
    assert canonical == signing.request_string(
        "POST", "/device/v1/x?status=pending", 17, "n" * 16, body
    )
    assert signing.verify(public, canonical, protocol.from_b64url(key.sign(canonical)))
    statement = protocol.approval_statement("u", "approved", 5, "ab")
    assert statement == signing.approval_statement("u", "approved", 5, "ab")
    assert statement == device_client.statement("u", "approved", 5, "ab")
    Ed25519PublicKey.from_public_bytes(public).verify(
        protocol.from_b64url(key.sign(statement)), statement
    )
    restored = protocol.DeviceKey.from_b64url(key.private_b64url())
    assert restored.public_b64url == key.public_b64url
    assert key.private_b64url() not in repr(key)
    nonce = protocol.new_nonce()
    assert 16 <= len(nonce) <= 64
    assert all(c.isalnum() or c in "-_" for c in nonce)
    with pytest.raises(ValueError, match="32 bytes"):
        protocol.DeviceKey.from_b64url(protocol.b64url(b"short"))


def request_of(shown: dict[str, Any], digest: str | None = None) -> dict[str, Any]:
    return {"uuid": "u", "shown": shown, "shown_digest": digest or protocol.shown_digest(shown)}


def test_the_device_signs_its_own_digest_only_when_the_server_agrees() -> None:
    shown = {"app_name": "A", "message": "Log in?", "details": {}, "logos": []}
    assert check_shown(request_of(shown)) == protocol.shown_digest(shown)
    other = protocol.shown_digest({**shown, "message": "Pay Eve"})
    with pytest.raises(ShownMismatch, match="refusing to sign"):
        check_shown(request_of(shown, other))
    with pytest.raises(ShownMismatch):
        check_shown({"uuid": "u", "shown_digest": other})


def state_of(tmp_path: Path) -> tuple[State, Path]:
    key = protocol.DeviceKey.generate()
    account = Account(1, "Acme", 7, "JBSWY3DPEHPK3PXP")
    state = State("http://x", "d", 1, "laptop", key.private_b64url(), accounts=[account])
    return state, tmp_path / "conf" / "twostep" / "authenticator.json"


def test_state_files_are_private(tmp_path: Path) -> None:
    state, path = state_of(tmp_path)
    old = os.umask(0o022)
    try:
        files.save(state, path)
    finally:
        os.umask(old)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert files.load(path) == state
    assert [p.name for p in path.parent.iterdir()] == ["authenticator.json"]  # no temporary left
    assert state.private_key not in repr(state)
    assert "JBSWY3DP" not in repr(state)
    for mode in (0o644, 0o640, 0o604, 0o660, 0o602):
        path.chmod(mode)
        with pytest.raises(files.StateError, match=f"mode {mode:04o}"):
            files.load(path)
    path.chmod(0o600)
    path.write_text("{not json")
    with pytest.raises(files.StateError, match="cannot read"):
        files.load(path)
    files.delete(path)
    with pytest.raises(files.StateError, match="no authenticator state"):
        files.load(path)


def test_default_state_path(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.delenv(files.ENV_VAR, raising=False)
    monkeypatch.delenv("XDG_CONFIG_HOME", raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert files.default_path() == tmp_path / ".config" / "twostep" / "authenticator.json"
    monkeypatch.setenv(files.ENV_VAR, str(tmp_path / "elsewhere.json"))
    assert files.default_path() == tmp_path / "elsewhere.json"


def test_codes_follow_rfc_6238() -> None:
    seed = "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ"  # base32 of "12345678901234567890"
    rfc = Account(1, "RFC", 1, seed, digits=8, period=30)
    assert current(rfc, 59).code == "94287082"
    assert current(rfc, 1111111109).code == "07081804"
    authy = Account(1, "Authy", 1, seed.lower(), digits=7, period=10)
    code = current(authy, 1_764_000_003.5)
    assert len(code.code) == 7
    assert code.seconds_left == 7


def test_sse_parsing() -> None:
    retries: list[float] = []
    lines = [
        "retry: 3000",
        "",
        ": keep-alive",
        "",
        "event: approval_request",
        'data: {"uuid": "a"}',
        "",
        "event: enrollment",
        'data: {"enrollment_id":',
        'data: "e"}',
        "",
        "data: not json",
        "",
        "event: approval_request",
        'data: {"uuid": "b"}',
    ]
    events = list(parse(lines, retries.append))
    assert events == [
        ServerEvent("approval_request", {"uuid": "a"}),
        ServerEvent("enrollment", {"enrollment_id": "e"}),
    ]
    assert retries == [3.0]


class FlakyStream:
    """A device client whose stream fails, ends, then carries one event."""

    def __init__(self, outcomes: list[Any]) -> None:
        self.outcomes = outcomes

    @contextmanager
    def stream(self) -> Iterator[httpx.Response]:
        outcome = self.outcomes.pop(0)
        if isinstance(outcome, Exception):
            raise outcome
        yield httpx.Response(200, content="\n".join(outcome).encode())


def test_watch_reconnects_and_stops_on_a_refusal() -> None:
    sleeps: list[float] = []
    notices: list[str] = []
    events: list[ServerEvent] = []
    outcomes: list[Any] = [
        Unreachable("cannot reach the server"),
        ServerError(503, "Unavailable", None),
        ["retry: 500", "", ": keep-alive", ""],
        ["event: approval_request", 'data: {"uuid": "a"}', "", ""],
    ]
    watch = Watch(
        FlakyStream(outcomes),  # type: ignore[arg-type]
        lambda e: events.append(e) is None,
        notices.append,
        sleeps.append,
    )
    watch.run()
    assert events == [ServerEvent("approval_request", {"uuid": "a"})]
    assert sleeps == [3.0, 6.0, 0.5]  # backoff after failures, the server's retry after an end
    assert any("ended the stream" in n for n in notices)
    refused = Watch(
        FlakyStream([ServerError(401, "Invalid signature", "60087")]),  # type: ignore[arg-type]
        lambda e: True,
        notices.append,
        sleeps.append,
    )
    with pytest.raises(ServerError, match="60087"):
        refused.run()


def envelope(
    status: int, code: str, skew: float = 0.0, now: float = 1_764_000_000.0
) -> ServerError:
    body = {"message": "Invalid signature", "success": False, "errors": {}, "error_code": code}
    response = httpx.Response(
        status, json=body, headers={"Date": formatdate(now + skew, usegmt=True)}
    )
    return refusal(response, now)


def test_refusals_explain_themselves() -> None:
    revoked = envelope(401, "60087")
    assert revoked.device_refused
    assert "no longer accepts this device" in str(revoked)
    late = envelope(401, "60087", skew=900)
    assert late.clock_off
    assert "clock is 900 s behind" in str(late)
    assert str(envelope(404, "60035")) == "Invalid signature (HTTP 404, error 60035)"
    odd = refusal(httpx.Response(502, text="<html>bad gateway</html>"))
    assert "unexpected answer from the server" in str(odd)
    assert (
        link_server("https://2fa.example/base/device/v1/links/ab.cd") == "https://2fa.example/base"
    )


def test_the_authenticator_never_imports_server_internals() -> None:
    forbidden = (
        "twostep.services",
        "twostep.store",
        "twostep.api",
        "twostep.worker",
        "twostep.cli",
    )
    package = Path(twostep.authenticator.__file__).parent
    for source in package.glob("*.py"):
        tree = ast.parse(source.read_text())
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            for name in names:
                assert not name.startswith(forbidden), f"{source.name} imports {name}"


def test_state_json_holds_what_the_protocol_gave(tmp_path: Path) -> None:
    state, path = state_of(tmp_path)
    files.save(state, path)
    saved = json.loads(path.read_text())
    assert saved["format"] == 1
    assert saved["accounts"][0]["seed"] == "JBSWY3DPEHPK3PXP"
    assert len(protocol.from_b64url(saved["private_key"])) == 32
