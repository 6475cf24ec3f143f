"""An enrolled device at work: its state file and a signed client, enrolment (by phone or link),
activation of a device that waits for approval, account sync and answers to approval requests.

An answer signs the digest of the ``shown`` object the device displays, computed here; the server's
``shown_digest`` must agree, or the device refuses to answer (a server that lies about what was
shown gets no signature)."""

from __future__ import annotations

import getpass
import socket
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

import httpx

from twostep.authenticator import state as files
from twostep.authenticator.client import (
    AuthenticatorError,
    DeviceClient,
    Json,
    new_http,
)
from twostep.authenticator.protocol import DeviceKey, approval_statement, shown_digest
from twostep.authenticator.state import Account, State, StateError

OS_TYPE = "cli"
LINK_PATH = "/device/v1/links/"


class ShownMismatch(AuthenticatorError):
    """The server's ``shown_digest`` is not the digest of the ``shown`` object it sent."""


def default_name() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "someone"
    name = f"{user} on {socket.gethostname()} (twostep authenticator)"
    return "".join(c for c in name if c.isprintable())[:100]


def normal_server(url: str) -> str:
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise AuthenticatorError(f"{url!r} is not a server URL (http:// or https://)")
    return url.strip().rstrip("/")


def link_server(url: str) -> str:
    """The server an enrolment link belongs to (what precedes ``/device/v1/links/``)."""
    server, sep, token = url.strip().partition(LINK_PATH)
    if not sep or not token:
        raise AuthenticatorError(f"{url!r} is not an enrolment link (…{LINK_PATH}<token>)")
    return normal_server(server)


def registration(key: DeviceKey, name: str, push_address: str | None = None) -> Json:
    """The body that registers this device (enrolment confirm or link, §2)."""
    body: Json = {"public_key": key.public_b64url, "name": name, "os_type": OS_TYPE}
    if push_address:
        body["push_address"] = push_address
    return body


def enrolled_state(
    server: str, key: DeviceKey, body: Json, method: str, enrollment_id: str | None
) -> State:
    """The state of a device the server just registered (completed or pending approval)."""
    device = body["device"]
    pending = body.get("status") == "pending_approval"
    return State(
        server=server,
        device_uuid=str(device["device_uuid"]),
        device_id=int(device["device_id"]),
        name=str(device["name"]),
        private_key=key.private_b64url(),
        method=method,
        status="pending" if pending else "active",
        enrollment_id=enrollment_id,
        activates_at=body.get("activates_at") if pending else None,
        accounts=[Account.from_json(a) for a in body.get("accounts", [])],
    )


def check_shown(request: Json) -> str:
    """The digest of what the device shows, computed here; it must be the server's too."""
    shown = request.get("shown")
    if not isinstance(shown, dict):
        raise ShownMismatch(f"request {request.get('uuid')} has nothing to show: not answering")
    digest = shown_digest(shown)
    if request.get("shown_digest") != digest:
        raise ShownMismatch(
            f"the server's shown_digest for request {request.get('uuid')} does not match what "
            "it sent to display: refusing to sign an answer for it"
        )
    return digest


def number_choices(request: Json) -> list[str] | None:
    choices = request.get("shown", {}).get("number_choices")
    return [str(c) for c in choices] if choices else None


class Session:
    """The device of one state file, with an HTTP client to its server."""

    def __init__(self, path: Path, now: Callable[[], float] = time.time) -> None:
        self.path = path
        self.state = files.load(path)
        self.now = now
        self.http: httpx.Client = new_http(self.state.server)
        self.client = DeviceClient(self.http, self.state.key(), self.state.device_uuid, now)

    def __enter__(self) -> Session:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.http.close()

    def save(self) -> None:
        files.save(self.state, self.path)

    # --- a device waiting for approval (SIM-swap protection, §2.1) ------------------------------

    def refresh_enrollment(self) -> str:
        """Ask how the pending enrolment stands; update the state. Returns the status. A
        canceled enrolment deletes the state (the device will never be active)."""
        if self.state.enrollment_id is None:
            raise StateError("the state file has no enrollment id")
        body = self.client.enrollment(self.state.enrollment_id)
        status = str(body["status"])
        if status == "completed":
            self.state.status = "active"
            self.state.activates_at = None
            self.state.accounts = [Account.from_json(a) for a in body.get("accounts", [])]
            self.save()
        elif status == "canceled":
            files.delete(self.path)
        elif body.get("activates_at") != self.state.activates_at:
            self.state.activates_at = body.get("activates_at")
            self.save()
        return status

    def require_active(self) -> None:
        if self.state.status == "active":
            return
        status = self.refresh_enrollment()
        if status == "canceled":
            raise AuthenticatorError(
                "this device's enrolment was canceled on an existing device; its state was deleted"
            )
        if status != "completed":
            raise AuthenticatorError(
                "this device waits for approval on an existing device; it activates at "
                f"{when(self.state.activates_at)} unless it is canceled "
                "(`twostep authenticator enroll --wait` waits for it)"
            )

    def wait_for_activation(self, interval: float, tick: Callable[[], None] = lambda: None) -> str:
        """Poll until the enrolment is completed or canceled; returns that status."""
        while True:
            status = self.refresh_enrollment()
            if status in ("completed", "canceled"):
                return status
            tick()
            time.sleep(interval)

    # --- accounts and answers --------------------------------------------------------------------

    def sync_accounts(self) -> list[Account]:
        self.require_active()
        fresh = [Account.from_json(a) for a in self.client.accounts()]
        if [a.public() | {"seed": a.seed} for a in fresh] != [
            a.public() | {"seed": a.seed} for a in self.state.accounts
        ]:
            self.state.accounts = fresh
            self.save()
        return fresh

    def pending(self) -> list[Json]:
        self.require_active()
        return self.client.pending()

    def find_pending(self, uuid: str) -> Json:
        for request in self.pending():
            if request.get("uuid") == uuid:
                return request
        raise AuthenticatorError(
            f"no pending approval request {uuid} for this device (answered, expired, or unknown)"
        )

    def answer(self, request: Json, status: str, number: str | None = None) -> Json:
        """Sign and send an answer to ``request`` as it was shown (§4.1)."""
        digest = check_shown(request)
        choices = number_choices(request)
        if status == "approved" and choices is not None and number not in choices:
            raise AuthenticatorError(
                f"this request uses number matching: approve it with the number the page shows, "
                f"one of {', '.join(choices)}"
            )
        if choices is None:
            number = None
        uuid = str(request["uuid"])
        signed_at = int(self.now())
        signature = self.client.key.sign(approval_statement(uuid, status, signed_at, digest))
        return self.client.answer(uuid, status, signed_at, signature, number)


def when(epoch: Any) -> str:
    """A Unix time as local date and time, with the time zone."""
    if not isinstance(epoch, int | float):
        return "an unknown time"
    return time.strftime("%Y-%m-%d %H:%M:%S %Z", time.localtime(epoch))
