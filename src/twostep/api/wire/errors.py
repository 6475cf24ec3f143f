"""The one table from domain errors to HTTP status, Authy ``error_code`` and message (spec §1.5, §10),
and the error envelope every non-200 response uses."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from twostep import errors as e

Body = dict[str, Any]


@dataclass(frozen=True, slots=True)
class ErrorSpec:
    status: int
    code: str
    message: Callable[[Any], str]
    # extra top-level keys (and, for validation errors, per-field entries in ``errors``)
    fields: Callable[[Any], dict[str, str]] = field(default=lambda _exc: {})
    extra: Callable[[Any], dict[str, Any]] = field(default=lambda _exc: {})
    empty_errors: bool = False


def _const(text: str) -> Callable[[Any], str]:
    return lambda _exc: text


_FEATURES = {
    "sms": ("60007", "SMS is not enabled for this application"),
    "call": ("60006", "Calls are not enabled for this application"),
    "email": ("60108", "Email is not enabled for this application"),
    "onetouch": ("60064", "OneTouch is not enabled for this application"),
    "custom_message": ("60091", "Custom messages are not allowed for this application"),
    "custom_code": ("60091", "Custom codes are not allowed for this application"),
}

TABLE: dict[type[Exception], ErrorSpec] = {
    e.InvalidApiKey: ErrorSpec(401, "60001", _const("Invalid API key")),
    e.UserNotFound: ErrorSpec(404, "60026", _const("User not found.")),
    e.UserDoesNotExist: ErrorSpec(404, "60026", _const("User doesn't exist")),
    e.ApprovalRequestNotFound: ErrorSpec(
        404, "60049", lambda x: f"Approval request not found: {x.uuid}", empty_errors=True
    ),
    e.PhoneVerificationNotFound: ErrorSpec(
        404, "60023", lambda x: f"No pending verifications for {x.formatted_number} found."
    ),
    e.RegistrationNotFound: ErrorSpec(404, "60035", _const("Registration request not found")),
    e.WebhookNotFound: ErrorSpec(404, "60100", _const("Webhook not found")),
    e.EnrollmentNotFound: ErrorSpec(404, "60035", _const("Enrollment not found")),
    e.DeviceNotFound: ErrorSpec(404, "60051", _const("Device not found for this user")),
    e.NotFound: ErrorSpec(404, "60000", lambda x: str(x) or "Not found"),
    e.InvalidRequest: ErrorSpec(400, "60002", lambda x: x.detail),
    e.InvalidEncoding: ErrorSpec(400, "60005", _const("Invalid encoding")),
    e.InvalidParameter: ErrorSpec(
        400, "60004", lambda x: f"Invalid parameter: {x.name} - {x.reason}"
    ),
    e.UserNotValid: ErrorSpec(
        400, "60027", _const("User was not valid"), fields=lambda x: x.fields
    ),
    e.InvalidPhoneNumber: ErrorSpec(400, "60033", _const("Phone number is invalid")),
    e.UnsupportedLocale: ErrorSpec(
        400, "60004", lambda x: f"Invalid parameter: locale - {x.locale} is not a supported locale"
    ),
    e.GenericTokensDisabled: ErrorSpec(
        400, "60123", _const("Generic authenticator tokens are disabled for this application")
    ),
    e.UnsupportedMediaType: ErrorSpec(
        415, "60002", lambda x: f"Invalid request: unsupported content type {x.content_type}"
    ),
    e.PayloadTooLarge: ErrorSpec(
        413, "60002", lambda x: f"Invalid request: body larger than {x.limit} bytes"
    ),
    e.FeatureDisabled: ErrorSpec(403, "60007", lambda x: _FEATURES[x.feature][1]),
    e.RateLimited: ErrorSpec(429, "60003", _const("DoS protection")),
    e.TokenInvalid: ErrorSpec(
        401, "60020", _const("Token is invalid"), extra=lambda _x: {"token": "is invalid"}
    ),
    e.TokenReused: ErrorSpec(
        401,
        "60019",
        _const("Token is invalid. Token was used recently."),
        extra=lambda _x: {"token": "is invalid"},
    ),
    e.PhoneVerificationIncorrect: ErrorSpec(401, "60022", _const("Verification code is incorrect")),
    e.OneTouchUnregisteredUser: ErrorSpec(
        400, "60050", _const("User is not registered for OneTouch: no authenticator device")
    ),
    e.InvalidSignature: ErrorSpec(401, "60087", _const("Invalid signature")),
    e.InvalidPin: ErrorSpec(401, "60036", _const("Invalid PIN")),
    e.InvalidAccessKey: ErrorSpec(401, "60069", _const("Invalid access key")),
    e.WebhookInvalid: ErrorSpec(
        400, "60098", lambda x: f"Webhook could not be created: {x.detail}"
    ),
    e.ApprovalRequestNotPending: ErrorSpec(
        400, "60079", lambda x: f"Approval request {x.uuid} is not pending (status: {x.status})"
    ),
    e.TwoStepError: ErrorSpec(400, "60000", _const("An error occurred")),
}

INTERNAL = ErrorSpec(500, "60000", _const("An internal error occurred. Please try again later"))


def spec_for(exc: Exception) -> ErrorSpec:
    for cls in type(exc).__mro__:
        spec = TABLE.get(cls)
        if spec is not None:
            return spec
    return INTERNAL


def envelope(
    message: str,
    code: str,
    *,
    fields: dict[str, str] | None = None,
    extra: dict[str, Any] | None = None,
    empty_errors: bool = False,
) -> Body:
    errors: dict[str, str] = {} if empty_errors else {"message": message, **(fields or {})}
    body: Body = {"message": message, "success": False, "errors": errors}
    body.update(fields or {})
    body.update(extra or {})
    body["error_code"] = code
    return body


def error_body(exc: Exception) -> tuple[int, Body]:
    spec = spec_for(exc)
    code = spec.code
    if isinstance(exc, e.FeatureDisabled):
        code = _FEATURES[exc.feature][0]
    body = envelope(
        spec.message(exc),
        code,
        fields=spec.fields(exc),
        extra=spec.extra(exc),
        empty_errors=spec.empty_errors,
    )
    return spec.status, body
