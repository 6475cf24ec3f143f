"""T4 verify (spec §4, §9): codes, device tokens, generic TOTP, replay, lockout, force rules."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import update
from starlette.testclient import TestClient

from tests.api.helpers import assert_error, headers, register
from tests.factories import add_device, last_code
from tests.support import new_app
from twostep.clock import FrozenClock
from twostep.core import otp
from twostep.services import apps, secrets, users
from twostep.services.runtime import Runtime
from twostep.store.schema import device_seeds

INVALID = (
    b'{"message":"Token is invalid","success":false,"errors":{"message":"Token is invalid"},'
    b'"token":"is invalid","error_code":"60020"}'
)


@pytest.fixture
def user(client: TestClient, app_key: str) -> int:
    return register(client, app_key)


def verify(client: TestClient, key: str, token: str, user: int, **params: Any) -> Any:
    return client.get(f"/protected/json/verify/{token}/{user}", params=params, headers=headers(key))


def send_sms(client: TestClient, key: str, user: int, **params: Any) -> None:
    assert (
        client.get(f"/protected/json/sms/{user}", params=params, headers=headers(key)).status_code
        == 200
    )


def test_valid_sms_code_exact_body(
    client: TestClient, runtime: Runtime, app_key: str, user: int
) -> None:
    send_sms(client, app_key, user)
    response = verify(client, app_key, last_code(runtime), user)
    assert response.status_code == 200
    assert response.content.startswith(
        b'{"message":"Token is valid.","token":"is valid","success":"true","device":{'
    )
    device = response.json()["device"]
    assert device["os_type"] == "sms"
    assert set(device) == {
        "city",
        "country",
        "ip",
        "region",
        "registration_city",
        "registration_country",
        "registration_ip",
        "registration_method",
        "registration_region",
        "os_type",
        "last_account_recovery_at",
        "id",
        "registration_date",
        "last_sync_date",
    }
    status = client.get(f"/protected/json/users/{user}/status", headers=headers(app_key))
    assert status.json()["status"]["confirmed"] is True


def test_wrong_token_exact_body(client: TestClient, app_key: str, user: int) -> None:
    response = verify(client, app_key, "1234567", user)
    assert response.status_code == 401
    assert response.content == INVALID


@pytest.mark.parametrize("token", ["abc", "12", "1" * 13, "12345a7", "%20"])
def test_malformed_tokens_are_invalid(
    client: TestClient, app_key: str, user: int, token: str
) -> None:
    assert verify(client, app_key, token, user).content == INVALID


def test_replayed_code_is_60019(
    client: TestClient, runtime: Runtime, app_key: str, user: int
) -> None:
    send_sms(client, app_key, user)
    code = last_code(runtime)
    assert verify(client, app_key, code, user).status_code == 200
    replay = verify(client, app_key, code, user)
    assert_error(replay, 401, "60019", "Token is invalid. Token was used recently.")
    assert replay.json()["token"] == "is invalid"


def test_action_binding(client: TestClient, runtime: Runtime, app_key: str, user: int) -> None:
    send_sms(client, app_key, user, action="wire-1", action_message="Wire $10")
    code = last_code(runtime)
    assert verify(client, app_key, code, user).status_code == 401
    assert verify(client, app_key, code, user, action="wire-2").status_code == 401
    assert verify(client, app_key, code, user, action="wire-1").status_code == 200


def test_codes_expire(
    client: TestClient, runtime: Runtime, clock: FrozenClock, app_key: str, user: int
) -> None:
    send_sms(client, app_key, user)
    code = last_code(runtime)
    clock.advance(runtime.settings.code_ttl_seconds + 1)
    assert verify(client, app_key, code, user).content == INVALID


def test_a_code_dies_after_too_many_wrong_attempts(
    client: TestClient, runtime: Runtime, app_key: str, user: int
) -> None:
    send_sms(client, app_key, user)
    code = last_code(runtime)
    for _ in range(runtime.settings.code_max_attempts):
        verify(client, app_key, "0000001", user)
    assert verify(client, app_key, code, user).status_code == 401


def test_accepting_a_code_retires_older_ones(
    client: TestClient, runtime: Runtime, app_key: str, user: int
) -> None:
    send_sms(client, app_key, user)
    older = last_code(runtime)
    send_sms(client, app_key, user, force="true")
    newer = last_code(runtime)
    assert verify(client, app_key, newer, user).status_code == 200
    assert verify(client, app_key, older, user).status_code == 401


def test_device_tokens_with_window_and_replay(
    client: TestClient, runtime: Runtime, clock: FrozenClock, app_key: str, app_id: int, user: int
) -> None:
    device_id, seed = add_device(runtime, user, app_id, os_type="ios")
    now = clock.time()
    token = otp.totp(seed, now, step=10, digits=7)
    response = verify(client, app_key, token, user)
    assert response.status_code == 200
    assert response.json()["device"]["os_type"] == "ios"
    assert response.json()["device"]["id"] == device_id
    assert_error(verify(client, app_key, token, user), 401, "60019")
    # an older step than the last accepted one is a replay too
    assert verify(client, app_key, otp.totp(seed, now - 10, 10, 7), user).status_code == 401
    clock.advance(60)
    late = otp.totp(seed, clock.time() - 30, 10, 7)  # 3 steps behind: inside the window
    assert verify(client, app_key, late, user).status_code == 200
    clock.advance(60)
    stale = otp.totp(seed, clock.time() - 40, 10, 7)  # 4 steps behind: outside
    assert verify(client, app_key, stale, user).status_code == 401


def test_each_active_device_of_the_user_verifies_and_no_other(
    client: TestClient, runtime: Runtime, clock: FrozenClock, app_key: str, app_id: int, user: int
) -> None:
    """The seeds come with the user in one query (a row per seed): every active device's token
    passes, each with its own replay guard; a suspended device's and a revoked seed's do not."""
    first, first_seed = add_device(runtime, user, app_id, os_type="ios")
    second, second_seed = add_device(runtime, user, app_id, os_type="android")
    _suspended, suspended_seed = add_device(runtime, user, app_id, status="suspended")
    _revoked, revoked_seed = add_device(runtime, user, app_id)
    runtime.run(
        lambda tx: tx.conn.execute(
            update(device_seeds)
            .where(device_seeds.c.device_id == _revoked)
            .values(revoked_at=tx.now)
        )
    )
    now = clock.time()
    for seed, device in ((second_seed, second), (first_seed, first)):
        response = verify(client, app_key, otp.totp(seed, now, 10, 7), user)
        assert response.status_code == 200
        assert response.json()["device"]["id"] == device
    for seed in (suspended_seed, revoked_seed):
        assert_error(verify(client, app_key, otp.totp(seed, now, 10, 7), user), 401, "60020")
    assert_error(verify(client, app_key, otp.totp(first_seed, now, 10, 7), user), 401, "60019")


def test_device_seeds_are_per_application(
    client: TestClient, runtime: Runtime, clock: FrozenClock, app_key: str, user: int
) -> None:
    other, other_key = new_app(runtime, "Other")
    register(client, other_key)
    _device, seed = add_device(runtime, user, other.id)
    token = otp.totp(seed, clock.time(), 10, 7)
    assert verify(client, app_key, token, user).status_code == 401
    assert verify(client, other_key, token, user).status_code == 200


def test_generic_authenticator_secret(
    client: TestClient,
    runtime: Runtime,
    clock: FrozenClock,
    test_app: tuple[apps.App, str],
    user: int,
) -> None:
    app, key = test_app
    assert (
        client.post(f"/protected/json/users/{user}/secret", headers=headers(key)).status_code == 200
    )
    seed = runtime.run(lambda tx: secrets.ensure_secret(tx, app, users.get(tx, app, user)))
    token = otp.totp(seed, clock.time(), 30, 6)
    response = verify(client, key, token, user)
    assert response.status_code == 200
    assert response.json()["device"]["os_type"] == "authenticator"
    assert_error(verify(client, key, token, user), 401, "60019")
    clock.advance(30)
    assert verify(client, key, otp.totp(seed, clock.time() - 30, 30, 6), user).status_code == 401
    assert verify(client, key, otp.totp(seed, clock.time(), 30, 6), user).status_code == 200


def test_unknown_and_foreign_users(client: TestClient, runtime: Runtime, app_key: str) -> None:
    other_key = new_app(runtime, "Other")[1]
    foreign = register(client, other_key, "201-555-0199")
    for ident in ("4242", str(foreign), "tony"):
        assert_error(verify(client, app_key, "1234567", ident), 404, "60026", "User doesn't exist")


def test_brute_force_lockout_even_with_the_right_code(
    client: TestClient, runtime: Runtime, clock: FrozenClock, app_key: str, user: int
) -> None:
    send_sms(client, app_key, user)
    code = last_code(runtime)
    limit = runtime.settings.verify_fail_limit
    for i in range(limit):
        verify(client, app_key, f"{9000000 + i}", user)
    locked = verify(client, app_key, code, user)
    assert_error(locked, 429, "60003", "DoS protection")
    clock.advance(runtime.settings.verify_fail_window_seconds + 1)
    send_sms(client, app_key, user, force="true")
    assert verify(client, app_key, last_code(runtime), user).status_code == 200


def test_lockout_is_per_user(client: TestClient, runtime: Runtime, app_key: str, user: int) -> None:
    other = register(client, app_key, "201-555-0145")
    for i in range(runtime.settings.verify_fail_limit):
        verify(client, app_key, f"{9000000 + i}", user)
    assert verify(client, app_key, "1234567", user).status_code == 429
    assert verify(client, app_key, "1234567", other).status_code == 401


def test_unconfirmed_users_are_checked_by_default(
    client: TestClient, app_key: str, user: int
) -> None:
    assert verify(client, app_key, "1234567", user, force="false").status_code == 401


def test_legacy_unconfirmed_rule_when_enabled(client: TestClient, runtime: Runtime) -> None:
    key = new_app(runtime, "Legacy", legacy_unconfirmed_tokens="true")[1]
    user = register(client, key)
    assert verify(client, key, "1234567", user).status_code == 200  # unconfirmed, not forced
    assert verify(client, key, "7654321", user).status_code == 200  # nothing was checked
    assert verify(client, key, "1234567", user, force="true").status_code == 401
    assert verify(client, key, "abc", user).status_code == 401  # not even well-formed
    send_sms(client, key, user)
    assert verify(client, key, last_code(runtime), user, force="true").status_code == 200
    # a real valid token confirmed the user: from now on every token is checked
    assert verify(client, key, "1234567", user).status_code == 401


def test_sandbox_magic_token(client: TestClient, runtime: Runtime) -> None:
    _app, key = runtime.run(lambda tx: apps.create(tx, "Sandbox App 1", sandbox=True))
    user = register(client, key, "111-111-1111")
    assert verify(client, key, "0000000", user).status_code == 200
    assert verify(client, key, "0000000", user, force="true").status_code == 200
    assert verify(client, key, "1234567", user).content == INVALID


def test_codes_are_compared_in_constant_time(
    client: TestClient, runtime: Runtime, app_key: str, user: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    import hmac

    from twostep.services import verify as verify_module

    calls: list[int] = []
    real = hmac.compare_digest

    def spy(a: Any, b: Any) -> bool:
        calls.append(1)
        return real(a, b)

    monkeypatch.setattr(verify_module.hmac, "compare_digest", spy)
    send_sms(client, app_key, user)
    verify(client, app_key, "7654321", user)
    assert calls, "the code comparison must go through hmac.compare_digest"
