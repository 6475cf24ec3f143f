"""Domain exceptions. No HTTP knowledge here: ``api.wire.errors`` maps each class to a status and an
Authy error code, in one table.

    TwoStepError
    ├── InvalidApiKey                  the request's API key is missing, unknown or expired
    ├── NotFound
    │   ├── UserNotFound               no such user in the calling application
    │   ├── UserDoesNotExist           the same, as the verify endpoint words it
    │   ├── ApprovalRequestNotFound    unknown OneTouch uuid (or another application's)
    │   ├── PhoneVerificationNotFound  no pending phone verification for the number
    │   ├── RegistrationNotFound       unknown custom_user_id
    │   ├── EnrollmentNotFound         unknown, expired, used or ended device enrolment (or link)
    │   ├── DeviceNotFound             no such authenticator device (for this user)
    │   └── WebhookNotFound
    ├── InvalidInput
    │   ├── InvalidRequest             the request itself is malformed (body, encoding, nesting)
    │   ├── InvalidEncoding            bytes that are not UTF-8
    │   ├── InvalidParameter           one parameter is missing or wrong (name, reason)
    │   ├── UserNotValid               user fields failed validation (per-field reasons)
    │   ├── InvalidPhoneNumber
    │   ├── UnsupportedLocale
    │   ├── GenericTokensDisabled
    │   └── UnsupportedMediaType
    ├── PayloadTooLarge
    ├── FeatureDisabled                the application has the channel/feature switched off
    ├── RateLimited                    too many attempts; carries when it ends
    ├── TokenRejected
    │   ├── TokenInvalid
    │   └── TokenReused
    ├── PhoneVerificationIncorrect
    ├── OneTouchUnregisteredUser       no authenticator device to send an approval request to
    ├── InvalidSignature               a signed device request did not verify
    ├── InvalidPin                     wrong device-enrolment PIN
    ├── InvalidAccessKey               dashboard API request without the right access key
    ├── WebhookInvalid                 a webhook that cannot be created (bad url, events…)
    └── ApprovalRequestNotPending
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime


class TwoStepError(Exception):
    """Base of every expected refusal."""


class FailAfterCommit(Exception):
    """Raised by a service to refuse the request *and* keep what it wrote (e.g. a failed-attempt
    counter): the unit of work commits, then ``error`` is raised to the caller."""

    def __init__(self, error: TwoStepError) -> None:
        super().__init__(error)
        self.error = error


class InvalidApiKey(TwoStepError):
    pass


class NotFound(TwoStepError):
    pass


class UserNotFound(NotFound):
    pass


class UserDoesNotExist(NotFound):
    pass


class ApprovalRequestNotFound(NotFound):
    def __init__(self, uuid: str) -> None:
        super().__init__(uuid)
        self.uuid = uuid


class PhoneVerificationNotFound(NotFound):
    def __init__(self, formatted_number: str) -> None:
        super().__init__(formatted_number)
        self.formatted_number = formatted_number


class RegistrationNotFound(NotFound):
    pass


class WebhookNotFound(NotFound):
    pass


class EnrollmentNotFound(NotFound):
    pass


class DeviceNotFound(NotFound):
    pass


class InvalidInput(TwoStepError):
    pass


class InvalidRequest(InvalidInput):
    def __init__(self, detail: str = "Invalid request") -> None:
        super().__init__(detail)
        self.detail = detail


class InvalidEncoding(InvalidInput):
    pass


class InvalidParameter(InvalidInput):
    def __init__(self, name: str, reason: str = "Parameter is required") -> None:
        super().__init__(f"{name}: {reason}")
        self.name = name
        self.reason = reason


class UserNotValid(InvalidInput):
    def __init__(self, fields: Mapping[str, str]) -> None:
        super().__init__(dict(fields))
        self.fields = dict(fields)


class InvalidPhoneNumber(InvalidInput):
    pass


class UnsupportedLocale(InvalidInput):
    def __init__(self, locale: str) -> None:
        super().__init__(locale)
        self.locale = locale


class GenericTokensDisabled(InvalidInput):
    pass


class UnsupportedMediaType(InvalidInput):
    def __init__(self, content_type: str) -> None:
        super().__init__(content_type)
        self.content_type = content_type


class PayloadTooLarge(TwoStepError):
    def __init__(self, limit: int) -> None:
        super().__init__(limit)
        self.limit = limit


class FeatureDisabled(TwoStepError):
    """``feature`` is one of: sms, call, email, onetouch, custom_message, custom_code."""

    def __init__(self, feature: str) -> None:
        super().__init__(feature)
        self.feature = feature


class RateLimited(TwoStepError):
    def __init__(self, until: datetime | None = None, reason: str = "") -> None:
        super().__init__(reason)
        self.until = until
        self.reason = reason


class TokenRejected(TwoStepError):
    pass


class TokenInvalid(TokenRejected):
    pass


class TokenReused(TokenRejected):
    pass


class OneTouchUnregisteredUser(TwoStepError):
    """The user has no authenticator device that could receive an approval request."""


class InvalidSignature(TwoStepError):
    """A signed device request did not verify (unknown device, bad signature, stale, replayed)."""


class InvalidPin(TwoStepError):
    pass


class InvalidAccessKey(TwoStepError):
    """A dashboard/webhooks API request without the application's access key."""


class WebhookInvalid(TwoStepError):
    def __init__(self, detail: str) -> None:
        super().__init__(detail)
        self.detail = detail


class PhoneVerificationIncorrect(TwoStepError):
    pass


class ApprovalRequestNotPending(TwoStepError):
    def __init__(self, uuid: str, status: str) -> None:
        super().__init__(uuid, status)
        self.uuid = uuid
        self.status = status
