"""How each provider's service answers, as its documentation describes: the paths, the
authentication it checks and the error bodies it sends. Each is a handler for ``FakeHttp``."""

from __future__ import annotations

import base64
import itertools
import re
import time
import uuid
import xml.etree.ElementTree as ET
from dataclasses import dataclass, field
from typing import Any

import jwt
from cryptography.hazmat.primitives.asymmetric import ec

from tests.delivery.fakes import Received, Reply

E164 = re.compile(r"\+[1-9]\d{6,14}")


def basic_auth(request: Received) -> tuple[str, str] | None:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "basic":
        return None
    user, _, password = base64.b64decode(value).decode().partition(":")
    return user, password


def bearer(request: Received) -> str:
    scheme, _, value = request.headers.get("authorization", "").partition(" ")
    return value if scheme.lower() == "bearer" else ""


@dataclass
class TwilioApi:
    account_sid: str
    auth_token: str
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def error(self, status: int, code: int, message: str) -> Reply:
        info = f"https://www.twilio.com/docs/errors/{code}"
        body = {"code": code, "message": message, "more_info": info, "status": status}
        return Reply(status, body)

    def __call__(self, request: Received) -> Reply:  # noqa: PLR0911 - one return per answer
        match = re.fullmatch(r"/2010-04-01/Accounts/(\w+)/(Messages|Calls)\.json", request.path)
        if request.method != "POST" or not match or match[1] != self.account_sid:
            return self.error(404, 20404, f"The requested resource {request.path} was not found")
        if basic_auth(request) != (self.account_sid, self.auth_token):
            return self.error(401, 20003, "Authenticate")
        form = request.form()
        to = form.get("To", "")
        if not E164.fullmatch(to):
            return self.error(400, 21211, f"Invalid 'To' Phone Number: {to}")
        if match[2] == "Calls":
            try:
                ET.fromstring(form.get("Twiml", ""))
            except ET.ParseError:
                return self.error(400, 12100, "Document parse failure")
            return Reply(201, {"sid": f"CA{next(self._ids):032x}", "status": "queued"})
        if not (form.get("From") or form.get("MessagingServiceSid")):
            return self.error(400, 21603, "A 'From' phone number is required.")
        return Reply(201, {"sid": f"SM{next(self._ids):032x}", "status": "queued"})


@dataclass
class VonageApi:
    api_key: str
    api_secret: str

    def __call__(self, request: Received) -> Reply:
        if request.path != "/sms/json":
            return Reply(404, {"type": "about:blank", "title": "Not Found"})
        form = request.form()
        if (form.get("api_key"), form.get("api_secret")) != (self.api_key, self.api_secret):
            return self.status("4", "Bad Credentials")
        if not form.get("to", "").isdigit():
            return self.status("3", "Invalid to parameter")
        parts = max(1, -(-len(form.get("text", "")) // 153))
        messages = [
            {"to": form["to"], "message-id": str(uuid.uuid4()), "status": "0"} for _ in range(parts)
        ]
        return Reply(200, {"message-count": str(parts), "messages": messages})

    @staticmethod
    def status(code: str, text: str) -> Reply:
        return Reply(
            200, {"message-count": "1", "messages": [{"status": code, "error-text": text}]}
        )


@dataclass
class GatewayApi:
    token: str

    def __call__(self, request: Received) -> Reply:
        if bearer(request) != self.token:
            return Reply(401, {"error": "unauthorized"})
        return Reply(200, {"id": f"gw-{request.headers.get('idempotency-key', '')}"})


@dataclass
class NtfyApi:
    token: str = ""

    def __call__(self, request: Received) -> Reply:
        if self.token and bearer(request) != self.token:
            body = {"code": 40101, "http": 401, "error": "unauthorized"}
            return Reply(401, body)
        topic = request.path.strip("/")
        body = {"id": "hwQ2YpKdmg", "time": int(time.time()), "event": "message", "topic": topic}
        return Reply(200, body)


@dataclass
class FcmApi:
    """Google's OAuth token endpoint and the FCM v1 send endpoint in one server."""

    project_id: str
    client_email: str
    public_key: Any
    unregistered: set[str] = field(default_factory=set)
    tokens: list[str] = field(default_factory=list)
    assertions: list[dict[str, Any]] = field(default_factory=list)
    token_url: str = ""

    def __call__(self, request: Received) -> Reply:
        if request.path == "/token":
            return self.grant(request)
        if request.path != f"/v1/projects/{self.project_id}/messages:send":
            return self.error(404, "NOT_FOUND", "", "Not found")
        if bearer(request) not in self.tokens:
            return self.error(401, "UNAUTHENTICATED", "", "Request had invalid credentials.")
        message = request.json()["message"]
        if message["token"] in self.unregistered:
            return self.error(404, "NOT_FOUND", "UNREGISTERED", "Requested entity was not found.")
        if not message["token"].isascii() or " " in message["token"]:
            return self.error(
                400, "INVALID_ARGUMENT", "INVALID_ARGUMENT", "The registration token is not valid"
            )
        return Reply(200, {"name": f"projects/{self.project_id}/messages/0:{len(self.tokens)}"})

    def grant(self, request: Received) -> Reply:
        form = request.form()
        if form.get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return Reply(400, {"error": "unsupported_grant_type"})
        try:
            claims = jwt.decode(
                form.get("assertion", ""),
                self.public_key,
                algorithms=["RS256"],
                audience=self.token_url,
                issuer=self.client_email,
            )
        except jwt.InvalidTokenError:
            return Reply(400, {"error": "invalid_grant", "error_description": "Invalid JWT."})
        self.assertions.append(claims)
        token = f"ya29.fake-{len(self.tokens)}"
        self.tokens.append(token)
        return Reply(200, {"access_token": token, "expires_in": 3599, "token_type": "Bearer"})

    @staticmethod
    def error(status: int, rpc: str, fcm_code: str, message: str) -> Reply:
        error: dict[str, Any] = {"code": status, "message": message, "status": rpc}
        if fcm_code:
            fcm_type = "type.googleapis.com/google.firebase.fcm.v1.FcmError"
            error["details"] = [{"@type": fcm_type, "errorCode": fcm_code}]
        return Reply(status, {"error": error})


@dataclass
class ApnsApi:
    team_id: str
    key_id: str
    public_key: ec.EllipticCurvePublicKey
    topic: str
    unregistered: set[str] = field(default_factory=set)

    def __call__(self, request: Received) -> Reply:  # noqa: PLR0911 - one return per answer
        match = re.fullmatch(r"/3/device/([0-9a-fA-F]+)", request.path)
        if request.method != "POST" or not match:
            return self.reason(404, "BadPath")
        scheme, _, token = request.headers.get("authorization", "").partition(" ")
        try:
            header = jwt.get_unverified_header(token)
            claims = jwt.decode(token, self.public_key, algorithms=["ES256"])
        except jwt.InvalidTokenError:
            return self.reason(403, "InvalidProviderToken")
        if scheme != "bearer" or header.get("kid") != self.key_id or claims["iss"] != self.team_id:
            return self.reason(403, "InvalidProviderToken")
        if request.headers.get("apns-topic") != self.topic:
            return self.reason(400, "DeviceTokenNotForTopic")
        if match[1] in self.unregistered:
            return Reply(410, {"reason": "Unregistered", "timestamp": int(time.time() * 1000)})
        if len(match[1]) != 64:
            return self.reason(400, "BadDeviceToken")
        apns_id = request.headers.get("apns-id") or str(uuid.uuid4())
        return Reply(200, headers={"apns-id": apns_id})

    @staticmethod
    def reason(status: int, reason: str) -> Reply:
        return Reply(status, {"reason": reason})


@dataclass
class WebPushApi:
    """A push service: checks the VAPID header against the key it carries, as RFC 8292 says."""

    origin: str = ""
    gone: set[str] = field(default_factory=set)
    _ids: itertools.count[int] = field(default_factory=itertools.count)

    def __call__(self, request: Received) -> Reply:
        if request.path in self.gone:
            return Reply(410, "push subscription has unsubscribed or expired.")
        match = re.fullmatch(r"vapid t=([^,]+), k=(\S+)", request.headers.get("authorization", ""))
        if not match:
            return Reply(401, "missing VAPID authorization")
        raw = base64.urlsafe_b64decode(match[2] + "=" * (-len(match[2]) % 4))
        key = ec.EllipticCurvePublicKey.from_encoded_point(ec.SECP256R1(), raw)
        try:
            claims = jwt.decode(match[1], key, algorithms=["ES256"], audience=self.origin)
        except jwt.InvalidTokenError:
            return Reply(403, "invalid VAPID token")
        if claims["exp"] > time.time() + 24 * 3600 or "sub" not in claims:
            return Reply(403, "invalid VAPID claims")
        return Reply(201, headers={"location": f"{self.origin}/message/{next(self._ids)}"})
