"""Signed device requests (docs/device-protocol.md §3): what is accepted, every refusal, replay
protection, and nonces kept even when the request itself is refused."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import pytest
from sqlalchemy import func, select
from starlette.testclient import TestClient

from tests.api.device_flows import enroll_by_phone
from tests.api.helpers import assert_error, register
from tests.device_client import SignedDevice
from twostep.clock import FrozenClock
from twostep.errors import InvalidParameter, InvalidSignature
from twostep.services import device_auth
from twostep.services.device_auth import ANY_STATUS, SignedRequest
from twostep.services.device_model import Device
from twostep.services.runtime import Runtime, Tx
from twostep.store import devices as device_q
from twostep.store.schema import device_nonces

TARGET = "/device/v1/approval_requests?status=pending"


@pytest.fixture
def device(client: TestClient, runtime: Runtime, clock: FrozenClock, app_key: str) -> SignedDevice:
    register(client, app_key)
    return enroll_by_phone(client, runtime, clock)


def signed(
    device: SignedDevice,
    method: str = "GET",
    target: str = TARGET,
    body: bytes = b"",
    **overrides: Any,
) -> SignedRequest:
    stamp, nonce = overrides.pop("timestamp", None), overrides.pop("nonce", None)
    h = device.headers(method, target, body, timestamp=stamp, nonce=nonce)
    values: dict[str, Any] = {
        "method": method,
        "target": target,
        "body": body,
        "device": h["X-TwoStep-Device"],
        "timestamp": h["X-TwoStep-Timestamp"],
        "nonce": h["X-TwoStep-Nonce"],
        "signature": h["X-TwoStep-Signature"],
    }
    return SignedRequest(**(values | overrides))


def authenticate(runtime: Runtime, request: SignedRequest, **kwargs: Any) -> Device:
    result: Device = runtime.run(lambda tx: device_auth.authenticate(tx, request, **kwargs))
    return result


def test_a_good_signature_is_accepted_and_recorded(
    runtime: Runtime, clock: FrozenClock, device: SignedDevice
) -> None:
    clock.advance(42)
    found = authenticate(runtime, signed(device, "POST", "/device/v1/x", b'{"a":1}'))
    assert (found.uuid, found.id, found.status) == (device.uuid, device.device_id, "active")
    row = runtime.run(lambda tx: device_q.by_id(tx.conn, device.device_id), write=False)
    assert row.last_sync_at == clock.now()


@pytest.mark.parametrize(
    "change",
    [
        {"method": "POST"},
        {"target": "/device/v1/approval_requests?status=approved"},
        {"target": "/device/v1/approval_requests"},
        {"body": b"{}"},
        {"timestamp": "1764000001"},
        {"nonce": "another-nonce-0123456789"},
        {"signature": "AAAA"},
        {"signature": "not base64!"},
        {"signature": None},
        {"device": None},
        {"device": "00000000-0000-4000-8000-000000000000"},
        {"device": "x" * 37},
        {"timestamp": None},
        {"timestamp": "-5"},
        {"timestamp": "1" * 13},
        {"nonce": None},
        {"nonce": "short"},
        {"nonce": "has spaces in it ......."},
        {"nonce": "n" * 65},
    ],
)
def test_anything_altered_or_missing_is_refused(
    runtime: Runtime, device: SignedDevice, change: dict[str, Any]
) -> None:
    altered = dataclasses.replace(signed(device), **change)
    with pytest.raises(InvalidSignature):
        authenticate(runtime, altered)


@pytest.mark.parametrize(("skew", "ok"), [(300, True), (-300, True), (301, False), (-301, False)])
def test_timestamps_must_be_close_to_the_server_clock(
    runtime: Runtime, clock: FrozenClock, device: SignedDevice, skew: int, ok: bool
) -> None:
    request = signed(device, timestamp=int(clock.time()) + skew)
    if ok:
        assert authenticate(runtime, request).uuid == device.uuid
    else:
        with pytest.raises(InvalidSignature):
            authenticate(runtime, request)


def test_a_replayed_nonce_is_refused_even_after_it_is_forgotten(
    runtime: Runtime, clock: FrozenClock, device: SignedDevice
) -> None:
    request = signed(device)
    authenticate(runtime, request)
    with pytest.raises(InvalidSignature):
        authenticate(runtime, request)
    clock.advance(599)
    assert runtime.run(device_auth.forget_nonces) == 0  # kept while a replay could pass
    clock.advance(2)
    assert runtime.run(device_auth.forget_nonces) >= 1
    with pytest.raises(InvalidSignature):
        authenticate(runtime, request)  # its timestamp is stale by now


def test_the_nonce_stays_used_when_the_work_is_refused(
    runtime: Runtime, device: SignedDevice
) -> None:
    request = signed(device)

    def refuse(tx: Tx) -> Callable[[Device], None]:
        def work(found: Device) -> None:
            device_q.set_push_address(tx.conn, found.id, "written-then-undone")
            raise InvalidParameter("x", "refused")

        return work

    with pytest.raises(InvalidParameter):
        runtime.run(lambda tx: device_auth.run_signed(tx, request, refuse(tx)))
    row = runtime.run(lambda tx: device_q.by_id(tx.conn, device.device_id), write=False)
    assert row.push_address is None  # the work's writes were undone
    count = runtime.run(
        lambda tx: tx.conn.execute(select(func.count()).select_from(device_nonces)).scalar_one()
    )
    assert count == 1
    with pytest.raises(InvalidSignature):
        runtime.run(lambda tx: device_auth.run_signed(tx, request, lambda _d: None))


def test_revoked_and_pending_devices(
    client: TestClient, runtime: Runtime, clock: FrozenClock, device: SignedDevice
) -> None:
    pending = enroll_by_phone(client, runtime, clock, status=202)
    with pytest.raises(InvalidSignature):
        authenticate(runtime, signed(pending))
    assert authenticate(runtime, signed(pending), allow=ANY_STATUS).status == "pending"
    runtime.run(lambda tx: device_q.revoke(tx.conn, device.device_id, tx.now))
    with pytest.raises(InvalidSignature):
        authenticate(runtime, signed(device))


def test_refusals_over_http(client: TestClient, clock: FrozenClock, device: SignedDevice) -> None:
    assert device.get("/device/v1/accounts").status_code == 200

    def drop_signature(h: dict[str, str]) -> None:
        del h["X-TwoStep-Signature"]

    def other_device(h: dict[str, str]) -> None:
        h["X-TwoStep-Device"] = "00000000-0000-4000-8000-000000000000"

    for tamper in (drop_signature, other_device):
        assert_error(
            device.get("/device/v1/accounts", tamper=tamper), 401, "60087", "Invalid signature"
        )
    stale = device.get("/device/v1/accounts", timestamp=int(clock.time()) - 301)
    assert_error(stale, 401, "60087")
    nonce = "replayed-nonce-0123456789"
    assert device.get("/device/v1/accounts", nonce=nonce).status_code == 200
    assert_error(device.get("/device/v1/accounts", nonce=nonce), 401, "60087")
    # the query string is signed exactly as sent
    sent = device.headers("GET", "/device/v1/approval_requests?status=pending")
    response = client.get("/device/v1/approval_requests?status=pending&x=1", headers=sent)
    assert_error(response, 401, "60087")
    assert_error(client.get("/device/v1/accounts"), 401, "60087")
