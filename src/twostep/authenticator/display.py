"""Text for a person: what an approval request shows, and a recovery enrolment."""

from __future__ import annotations

import time
from typing import Any

from twostep.authenticator.client import Json
from twostep.authenticator.session import ShownMismatch, check_shown, number_choices, when


def _clean(text: Any) -> str:
    """One line of printable text (a server must not be able to draw on the terminal)."""
    return "".join(c if c.isprintable() else " " for c in str(text))


def _left(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days}d {hours}h"
    if hours:
        return f"{hours}h {minutes}m"
    return f"{minutes}m {secs}s" if minutes else f"{secs}s"


def request_lines(request: Json, now: float | None = None) -> list[str]:
    """What the request shows, line by line, and whether its digest checks out."""
    shown = request.get("shown") or {}
    lines = [
        f"Approval request {_clean(request.get('uuid'))}",
        f"  app:      {_clean(shown.get('app_name', request.get('app_name')))}",
        f"  message:  {_clean(shown.get('message', ''))}",
    ]
    details = shown.get("details") or {}
    lines.extend(f"  {_clean(key)}: {_clean(details[key])}" for key in sorted(details))
    choices = number_choices(request)
    if choices:
        lines.append(f"  number matching: the page shows one of {'  '.join(choices)}")
    expires = request.get("expires_at")
    if isinstance(expires, int | float):
        left = expires - (time.time() if now is None else now)
        lines.append(f"  expires:  {when(expires)} (in {_left(left)})")
    try:
        check_shown(request)
    except ShownMismatch:
        lines.append("  WARNING: the server's shown_digest does not match; it will not be answered")
    return lines


def enrollment_lines(enrollment: Json) -> list[str]:
    device = enrollment.get("device") or {}
    return [
        f"New device asks to join your account: enrollment {_clean(enrollment.get('enrollment_id'))}",
        f"  device:   {_clean(device.get('name'))} ({_clean(device.get('os_type'))})",
        f"  activates {when(enrollment.get('activates_at'))} unless an existing device cancels it",
    ]
