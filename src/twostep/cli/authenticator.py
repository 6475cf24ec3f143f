"""``twostep authenticator``: the reference authenticator (docs/device-protocol.md) on the command
line. It enrolls this computer as a person's device, shows its codes and answers OneTouch approval
requests, talking to the server over HTTP only (``twostep.authenticator``)."""

from __future__ import annotations

import functools
import time
from collections.abc import Callable
from pathlib import Path
from typing import ParamSpec, TypeVar

import click

from twostep.authenticator import display
from twostep.authenticator import state as files
from twostep.authenticator.client import (
    AuthenticatorError,
    Enrollment,
    ServerError,
    Unreachable,
    new_http,
)
from twostep.authenticator.codes import current
from twostep.authenticator.interactive import (
    Answerer,
    confirm_pin,
    digest_ok,
    outcome,
    parse_phone,
    report_enrolled,
    say,
    wait_for_approval,
)
from twostep.authenticator.protocol import DeviceKey
from twostep.authenticator.session import (
    Session,
    default_name,
    enrolled_state,
    link_server,
    normal_server,
    number_choices,
    registration,
    when,
)
from twostep.authenticator.watch import Watch
from twostep.cli.common import emit_json, emit_table, json_option

P = ParamSpec("P")
R = TypeVar("R")


def guarded(command: Callable[P, R]) -> Callable[P, R]:
    """Show an authenticator failure (server refusal, unreachable server, state file) as an error
    message and exit 1."""

    @functools.wraps(command)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return command(*args, **kwargs)
        except AuthenticatorError as exc:
            raise click.ClickException(str(exc)) from None

    return run


state_option = click.option(
    "--state",
    "state_path",
    type=click.Path(path_type=Path, dir_okay=False),
    default=None,
    help="State file (default: $TWOSTEP_AUTHENTICATOR_STATE, else "
    "~/.config/twostep/authenticator.json).",
)
offline_option = click.option(
    "--offline", is_flag=True, help="Use the accounts saved locally; do not ask the server."
)


def _session(path: Path | None) -> Session:
    return Session(path or files.default_path())


@click.group("authenticator")
def authenticator_group() -> None:
    """The reference authenticator: enroll this computer, show codes, answer approval requests."""


# --- enrolment ---------------------------------------------------------------------------------


@authenticator_group.command("enroll")
@click.option("--server", help="The TwoStep server's URL, e.g. http://127.0.0.1:8080.")
@click.option("--phone", help="Your phone number in international form, e.g. +12015550123.")
@click.option("--via", type=click.Choice(["sms", "call"]), default="sms", show_default=True)
@click.option("--pin", help="The PIN you received (otherwise you are asked for it).")
@click.option("--locale", help="Language of the PIN message, e.g. es (default: the number's).")
@click.option("--link", help="An enrolment link an application gave you (instead of --phone).")
@click.option("--name", help="This device's name as the server shows it.")
@click.option("--wait", is_flag=True, help="If the device must be approved, wait for it.")
@click.option("--poll-interval", type=click.FloatRange(0.1, 3600), default=5.0, show_default=True)
@state_option
@guarded
def enroll(
    *,
    server: str | None,
    phone: str | None,
    via: str,
    pin: str | None,
    locale: str | None,
    link: str | None,
    name: str | None,
    wait: bool,
    poll_interval: float,
    state_path: Path | None,
) -> None:
    """Enroll this computer as your authenticator, by phone (PIN) or by link. With only --wait,
    wait for a device that awaits approval."""
    path = state_path or files.default_path()
    if not phone and not link:
        if wait and path.exists():
            wait_for_approval(path, poll_interval)
            return
        raise click.UsageError("give --phone (with --server) or --link")
    if phone and link:
        raise click.UsageError("give --phone or --link, not both")
    if path.exists():
        raise AuthenticatorError(
            f"{path} already holds an enrolled device: remove it first "
            "(`twostep authenticator remove`) or give another --state"
        )
    files.writable(path)
    key, device_name = DeviceKey.generate(), name or default_name()
    if link:
        base = link_server(link)
        with new_http(base) as http:
            body = Enrollment(http).redeem_link(link.strip(), registration(key, device_name))[1]
        state = enrolled_state(base, key, body, "link", None)
    else:
        if not server:
            raise click.UsageError("--phone needs --server URL")
        base = normal_server(server)
        country, number = parse_phone(phone or "")
        with new_http(base) as http:
            enrolment = Enrollment(http)
            started = enrolment.start(country, number, via, locale)
            minutes = int(started.get("expires_in", 600)) // 60
            say(f"If {phone} is registered, a PIN was sent by {via} (valid {minutes} min).")
            enrollment_id = str(started["enrollment_id"])
            body = confirm_pin(enrolment, enrollment_id, pin, registration(key, device_name))
        state = enrolled_state(base, key, body, "phone", enrollment_id)
    files.save(state, path)
    report_enrolled(state, path)
    if state.status == "pending" and wait:
        wait_for_approval(path, poll_interval)


# --- accounts and codes ------------------------------------------------------------------------


@authenticator_group.command("accounts")
@json_option
@offline_option
@state_option
@guarded
def accounts(as_json: bool, offline: bool, state_path: Path | None) -> None:
    """The applications this device serves (synchronised with the server)."""
    with _session(state_path) as session:
        found = session.state.accounts if offline else session.sync_accounts()
    if as_json:
        emit_json([a.public() for a in found])
        return
    if not found:
        click.echo("No accounts yet: they appear when an application registers your number.")
        return
    emit_table(
        ["APP_ID", "APP", "AUTHY_ID", "DIGITS", "PERIOD"],
        [[a.app_id, a.app_name, a.authy_id, a.digits, f"{a.period}s"] for a in found],
    )


@authenticator_group.command("codes")
@json_option
@offline_option
@state_option
@guarded
def codes(as_json: bool, offline: bool, state_path: Path | None) -> None:
    """The current code of every account and the seconds it stays valid."""
    with _session(state_path) as session:
        found = session.state.accounts
        if not offline:
            try:
                found = session.sync_accounts()
            except Unreachable as exc:
                say(f"warning: {exc}; showing the codes of the accounts saved locally")
    now = time.time()
    shown = [current(a, now) for a in found]
    if as_json:
        emit_json(
            [{**c.account.public(), "code": c.code, "seconds_left": c.seconds_left} for c in shown]
        )
        return
    if not shown:
        click.echo("No accounts yet.")
        return
    emit_table(
        ["APP", "AUTHY_ID", "CODE", "SECONDS_LEFT"],
        [[c.account.app_name, c.account.authy_id, c.code, c.seconds_left] for c in shown],
    )


# --- approval requests -------------------------------------------------------------------------


@authenticator_group.command("pending")
@json_option
@state_option
@guarded
def pending(as_json: bool, state_path: Path | None) -> None:
    """Approval requests waiting for an answer, with what they show."""
    with _session(state_path) as session:
        found = session.pending()
    if as_json:
        emit_json([{**r, "digest_ok": digest_ok(r)} for r in found])
        return
    if not found:
        click.echo("No pending approval requests.")
    for request in found:
        click.echo("\n".join(display.request_lines(request)))


def _answer(uuid: str, status: str, number: str | None, state_path: Path | None) -> None:
    with _session(state_path) as session:
        request = session.find_pending(uuid)
        click.echo("\n".join(display.request_lines(request)))
        choices = number_choices(request)
        if number is not None and choices is None:
            raise click.UsageError("--number is only for requests with number matching")
        if status == "approved" and choices and number is None:
            number = click.prompt("Which number does the page show?", type=click.Choice(choices))
        answered = session.answer(request, status, number)
    click.echo(outcome(answered, status))


@authenticator_group.command("approve")
@click.argument("uuid")
@click.option("--number", help="With number matching: the number the login page shows.")
@state_option
@guarded
def approve(uuid: str, number: str | None, state_path: Path | None) -> None:
    """Approve a pending request (signing what it shows)."""
    _answer(uuid, "approved", number, state_path)


@authenticator_group.command("deny")
@click.argument("uuid")
@state_option
@guarded
def deny(uuid: str, state_path: Path | None) -> None:
    """Deny a pending request."""
    _answer(uuid, "denied", None, state_path)


@authenticator_group.command("watch")
@click.option("--auto-approve", is_flag=True, help="Approve every request (scripts, tests).")
@click.option("--auto-deny", is_flag=True, help="Deny every request.")
@click.option("--count", type=click.IntRange(1), help="Stop after answering this many requests.")
@state_option
@guarded
def watch(auto_approve: bool, auto_deny: bool, count: int | None, state_path: Path | None) -> None:
    """Follow the server's stream: show each request as it arrives and answer it. Reconnects when
    the connection drops; Ctrl-C stops."""
    if auto_approve and auto_deny:
        raise click.UsageError("give --auto-approve or --auto-deny, not both")
    auto = "approved" if auto_approve else "denied" if auto_deny else None
    with _session(state_path) as session:
        session.require_active()
        try:
            Watch(session.client, Answerer(session, auto, count), say).run()
        except (KeyboardInterrupt, click.Abort):
            say("\nstopped")


# --- device settings, recoveries, removal ------------------------------------------------------


@authenticator_group.command("push-address")
@click.argument("address", required=False)
@click.option("--clear", is_flag=True, help="Remove the push address.")
@state_option
@guarded
def push_address(address: str | None, clear: bool, state_path: Path | None) -> None:
    """Set where the server pushes (fcm:…, apns:…, webpush:URL, ntfy:URL), or --clear it."""
    if bool(address) == clear:
        raise click.UsageError("give an ADDRESS or --clear")
    with _session(state_path) as session:
        session.require_active()
        session.client.set_push_address(None if clear else address)
    click.echo("push address removed" if clear else f"push address set to {address}")


@authenticator_group.command("recoveries")
@json_option
@state_option
@guarded
def recoveries(as_json: bool, state_path: Path | None) -> None:
    """New devices of your number waiting for approval (SIM-swap protection)."""
    with _session(state_path) as session:
        session.require_active()
        found = session.client.recoveries()
    if as_json:
        emit_json(found)
        return
    if not found:
        click.echo("No device waits for approval.")
        return
    emit_table(
        ["ENROLLMENT_ID", "DEVICE", "OS", "ACTIVATES_AT"],
        [
            [
                e["enrollment_id"],
                e["device"]["name"],
                e["device"]["os_type"],
                when(e["activates_at"]),
            ]
            for e in found
        ],
    )


def _decide(enrollment_id: str, state_path: Path | None, *, approve: bool) -> None:
    with _session(state_path) as session:
        session.require_active()
        decided = session.client.decide_recovery(enrollment_id, approve=approve)
    device = decided.get("device") or {}
    click.echo(f"enrollment {enrollment_id} ({device.get('name')}): {decided.get('status')}")


@authenticator_group.command("approve-recovery")
@click.argument("enrollment_id")
@state_option
@guarded
def approve_recovery(enrollment_id: str, state_path: Path | None) -> None:
    """Let a new device of your number in now."""
    _decide(enrollment_id, state_path, approve=True)


@authenticator_group.command("cancel-recovery")
@click.argument("enrollment_id")
@state_option
@guarded
def cancel_recovery(enrollment_id: str, state_path: Path | None) -> None:
    """Refuse a new device of your number (if it is not yours: someone may have your SIM)."""
    _decide(enrollment_id, state_path, approve=False)


@authenticator_group.command("remove")
@click.option("--yes", is_flag=True, help="Do not ask for confirmation.")
@state_option
@guarded
def remove(yes: bool, state_path: Path | None) -> None:
    """Revoke this device for every application and delete its state file."""
    path = state_path or files.default_path()
    with Session(path) as session:
        if not yes:
            click.confirm(
                f"Revoke “{session.state.name}” for every application and delete {path}?",
                abort=True,
            )
        try:
            session.client.revoke()
        except ServerError as exc:
            if not exc.device_refused or exc.clock_off:
                raise
            if session.state.status == "pending":
                say(
                    "A device waiting for approval cannot withdraw itself: cancel enrollment "
                    f"{session.state.enrollment_id} on your other device (`cancel-recovery`), "
                    f"or it activates at {when(session.state.activates_at)} (without a key)."
                )
            else:
                say("The server no longer accepted this device (it was revoked already).")
    files.delete(path)
    click.echo(f"Device revoked; {path} deleted.")
