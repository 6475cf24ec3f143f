"""The requests of each benchmark scenario, pre-rendered. Users are taken in turn so that every
valid token is fresh (a user's device accepts one token per 10-second step) and failure counters
stay below the lockout."""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass, field

import orjson

from bench.loadgen import render_get, render_post
from bench.seed import device_seed
from twostep.core import otp


@dataclass
class Users:
    """Hands out user numbers in turn; a user comes back only when the 10-second step of the token
    it was last given has passed, so a valid token is never a replay."""

    count: int
    cursor: int = 1
    taken_at: dict[int, float] = field(default_factory=dict)

    def take(self, n: int) -> list[int]:
        taken = []
        for _ in range(min(n, self.count)):
            if self.cursor > self.count:
                self.cursor = 1
            last = self.taken_at.get(self.cursor)
            if last is not None and time.time() // 10 <= last // 10:
                time.sleep(10 - time.time() % 10 + 0.05)  # into the next step
            self.taken_at[self.cursor] = time.time()
            taken.append(self.cursor)
            self.cursor += 1
        return taken


def device_token(user: int, at: float | None = None) -> str:
    return otp.totp(device_seed(user), time.time() if at is None else at, step=10, digits=7)


def verify_valid(
    key: str, users: Sequence[int], prefix: str = "/protected/json", at: float | None = None
) -> list[bytes]:
    headers = {"X-Authy-API-Key": key}
    at = time.time() if at is None else at  # one time for all: a step boundary may pass meanwhile
    return [render_get(f"{prefix}/verify/{device_token(u, at)}/{u}", headers) for u in users]


def verify_valid_run(
    key: str, users: Users, n: int, prefix: str = "/protected/json"
) -> list[bytes]:
    """``n`` valid verifications, at most two per user. Past the number of users, users are taken
    again in the next time-step (Users.take waits for it) and their tokens made then, so that none
    is a replay; no more, so that the first tokens are still inside the TOTP window when sent."""
    payloads: list[bytes] = []
    n = min(n, 2 * users.count)
    while len(payloads) < n:
        chosen = users.take(min(n - len(payloads), users.count))
        at = time.time()
        users.taken_at.update(dict.fromkeys(chosen, at))  # their tokens' time, for the next take
        payloads += verify_valid(key, chosen, prefix, at)
    return payloads


def verify_invalid(key: str, users: Sequence[int]) -> list[bytes]:
    headers = {"X-Authy-API-Key": key}
    bad = []
    for u in users:
        token = device_token(u)
        wrong = f"{(int(token) + 5_000_000) % 10_000_000:07d}"
        bad.append(render_get(f"/protected/json/verify/{wrong}/{u}", headers))
    return bad


def approval_create(key: str, users: Sequence[int]) -> list[bytes]:
    headers = {"X-Authy-API-Key": key}
    body = orjson.dumps(
        {
            "message": "Log in to Bench Bank?",
            "details": {"IP": "203.0.113.7", "Browser": "Firefox"},
            "seconds_to_expire": 600,
        }
    )
    return [
        render_post(
            f"/onetouch/json/users/{u}/approval_requests", headers, body, "application/json"
        )
        for u in users
    ]


def approval_status(key: str, uuids: Sequence[str]) -> list[bytes]:
    headers = {"X-Authy-API-Key": key}
    return [render_get(f"/onetouch/json/approval_requests/{u}", headers) for u in uuids]


def request_sms(key: str, users: Sequence[int]) -> list[bytes]:
    headers = {"X-Authy-API-Key": key}
    return [render_get(f"/protected/json/sms/{u}?force=true", headers) for u in users]


def signed_answer(
    device_uuid: str, uuid: str, digest: str, key: object, status: str = "approved"
) -> tuple[str, dict[str, str], bytes]:
    """A device's signed answer: (path, headers, body) of POST /device/v1/approval_requests/{uuid},
    signed now (it must be sent within the clock-skew window)."""
    from twostep.authenticator import protocol

    device_key = protocol.DeviceKey(key)  # type: ignore[arg-type]
    now = int(time.time())
    statement = protocol.approval_statement(uuid, status, now, digest)
    body = orjson.dumps(
        {"status": status, "signed_at": now, "signature": device_key.sign(statement)}
    )
    path = f"/device/v1/approval_requests/{uuid}"
    nonce = protocol.new_nonce()
    signature = device_key.sign(protocol.canonical_request("POST", path, now, nonce, body))
    headers = {
        "X-TwoStep-Device": device_uuid,
        "X-TwoStep-Timestamp": str(now),
        "X-TwoStep-Nonce": nonce,
        "X-TwoStep-Signature": signature,
        "Content-Type": "application/json",
    }
    return path, headers, body


def device_answers(pending: Sequence[tuple[str, str, str]], key: object) -> list[bytes]:
    payloads = []
    for device_uuid, uuid, digest in pending:
        path, headers, body = signed_answer(device_uuid, uuid, digest, key)
        content_type = headers.pop("Content-Type")
        payloads.append(render_post(path, headers, body, content_type))
    return payloads
