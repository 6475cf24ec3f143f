"""The TOTP kinds TwoStep verifies and how their seeds are sealed at rest."""

from __future__ import annotations

from twostep.core import otp

DEVICE_TOKEN = otp.TotpParams(step=10, digits=7, window=3)  # Authy-app style, per device
GENERIC_TOKEN = otp.TotpParams(step=30, digits=6, window=1)  # RFC 6238 authenticator apps


def seed_context(device_id: int, app_id: int) -> str:
    """Associated data binding a sealed device seed to its device and application."""
    return f"device_seeds:{device_id}:{app_id}"


def generic_secret_context(app_id: int, person_id: int) -> str:
    return f"totp_secrets:{app_id}:{person_id}"
