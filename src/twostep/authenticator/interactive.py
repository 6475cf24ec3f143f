"""The person's side of the command line: asking for the PIN, reporting an enrolment, waiting
for approval, and answering the requests of the event stream (as told, or asking each time)."""

from __future__ import annotations

from pathlib import Path

import click
import phonenumbers

from twostep.authenticator import display
from twostep.authenticator.client import AuthenticatorError, Enrollment, Json, ServerError
from twostep.authenticator.session import (
    Session,
    ShownMismatch,
    check_shown,
    number_choices,
    when,
)
from twostep.authenticator.state import State
from twostep.authenticator.watch import ServerEvent

WRONG_PIN = "60036"


def say(message: str) -> None:
    """A message about the command's progress, on standard error."""
    click.echo(message, err=True)


def parse_phone(text: str) -> tuple[int, str]:
    """``+12015550123`` as (country code, national number)."""
    try:
        parsed = phonenumbers.parse(text, None)
    except phonenumbers.NumberParseException:
        raise click.BadParameter(
            "give the number in international form, e.g. +12015550123", param_hint="--phone"
        ) from None
    return int(parsed.country_code or 0), str(phonenumbers.national_significant_number(parsed))


def confirm_pin(enrolment: Enrollment, enrollment_id: str, pin: str | None, device: Json) -> Json:
    """Confirm with the PIN; asked for (again after a wrong one) unless ``--pin`` was given."""
    while True:
        given = pin if pin is not None else click.prompt("PIN", type=str).strip()
        try:
            return enrolment.confirm(enrollment_id, given, device)[1]
        except ServerError as exc:
            if exc.code != WRONG_PIN or pin is not None:
                raise
            say(f"{exc.message}; try again.")


def accounts_line(state: State) -> str:
    if not state.accounts:
        return "No accounts yet: they appear when an application registers your number."
    names = ", ".join(f"{a.app_name} (authy id {a.authy_id})" for a in state.accounts)
    return f"Accounts: {names}"


def report_enrolled(state: State, path: Path) -> None:
    click.echo(f"Device “{state.name}” ({state.device_uuid}) enrolled on {state.server}.")
    click.echo(f"State saved in {path} (mode 0600; it holds this device's private key).")
    if state.status == "active":
        click.echo(accounts_line(state))
        click.echo("Next: `twostep authenticator watch` answers login requests as they come.")
        return
    click.echo(
        "This number already has an authenticator. To protect you from SIM swapping, this "
        "device waits: approve it on your other device (`twostep authenticator recoveries`, "
        f"then `approve-recovery`), or it activates by itself at {when(state.activates_at)} "
        "unless a device of yours cancels it."
    )


def wait_for_approval(path: Path, interval: float) -> None:
    with Session(path) as session:
        if session.state.status == "active":
            click.echo("This device is active.")
            return
        say(
            f"Waiting for approval (at the latest {when(session.state.activates_at)}); Ctrl-C stops."
        )
        try:
            status = session.wait_for_activation(interval)
        except KeyboardInterrupt:
            say("Stopped waiting; `twostep authenticator enroll --wait` waits again.")
            return
        if status == "canceled":
            raise AuthenticatorError(
                "the enrolment was canceled on an existing device; this device's state was deleted"
            )
        click.echo("Approved: this device is active.")
        click.echo(accounts_line(session.state))


def digest_ok(request: Json) -> bool:
    try:
        check_shown(request)
    except ShownMismatch:
        return False
    return True


def outcome(answered: Json, wanted: str) -> str:
    status = str(answered.get("status"))
    if wanted == "approved" and status == "denied":
        return "recorded as denied: the number did not match"
    return status


class Answerer:
    """Handles the stream's events: shows each request once and answers it (as told, or asking)."""

    def __init__(self, session: Session, auto: str | None, count: int | None) -> None:
        self.session, self.auto, self.count = session, auto, count
        self.seen: set[str] = set()
        self.answered = 0

    def __call__(self, event: ServerEvent) -> bool:
        key = f"{event.name}:{event.data.get('uuid') or event.data.get('enrollment_id')}"
        if key in self.seen:
            return False
        self.seen.add(key)
        if event.name == "enrollment":
            self._recovery(event.data)
        elif event.name == "approval_request":
            return self._request(event.data)
        return False

    def _decide(self, request: Json) -> tuple[str, str | None] | None:
        choices = number_choices(request)
        if self.auto == "denied":
            return "denied", None
        if self.auto == "approved":
            if not choices:
                return "approved", None
            click.echo("  number matching: answer with `approve UUID --number NN`; skipped")
            return None
        if choices:
            ask = f"  Which number does the page show ({', '.join(choices)})? d = deny, s = skip"
        else:
            ask = "  Approve? a = approve, d = deny, s = skip"
        options = [*(choices or ["a"]), "d", "s"]
        pick = click.prompt(ask, type=click.Choice(options), show_choices=False)
        if pick == "s":
            return None
        return ("denied", None) if pick == "d" else ("approved", pick if choices else None)

    def _request(self, request: Json) -> bool:
        click.echo("\n".join(display.request_lines(request)))
        if not digest_ok(request):
            return False
        decision = self._decide(request)
        if decision is None:
            return False
        try:
            answered = self.session.answer(request, *decision)
        except ServerError as exc:
            if exc.device_refused:
                raise
            click.echo(f"  not answered: {exc}")
            return False
        click.echo(f"  -> {outcome(answered, decision[0])}")
        self.answered += 1
        return self.count is not None and self.answered >= self.count

    def _recovery(self, enrollment: Json) -> None:
        click.echo("\n".join(display.enrollment_lines(enrollment)))
        ident = str(enrollment.get("enrollment_id"))
        if self.auto is not None:
            click.echo(f"  decide with `approve-recovery {ident}` or `cancel-recovery {ident}`")
            return
        ask = "  Let this device in? a = approve, c = cancel it, s = skip"
        pick = click.prompt(ask, type=click.Choice(["a", "c", "s"]), show_choices=False)
        if pick == "s":
            return
        try:
            decided = self.session.client.decide_recovery(ident, approve=pick == "a")
        except ServerError as exc:
            if exc.device_refused:
                raise
            click.echo(f"  not decided: {exc}")
            return
        click.echo(f"  -> {decided.get('status')}")
