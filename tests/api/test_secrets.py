"""U5 /users/{id}/secret: a generic authenticator secret, sealed at rest, as an expiring QR link."""

from __future__ import annotations

import struct

import pytest
from sqlalchemy import select
from starlette.testclient import TestClient

from tests.api.helpers import assert_error, headers, register
from tests.support import new_app
from twostep.clock import FrozenClock
from twostep.core import otp
from twostep.services import apps, secrets, users
from twostep.services.runtime import Runtime
from twostep.store.schema import totp_secrets


def png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def qr_path(body: dict[str, object]) -> str:
    url = str(body["qr_code"])
    assert url.startswith("http://127.0.0.1:8080/qr/")
    assert url.endswith(".png")
    return url.removeprefix("http://127.0.0.1:8080")


def test_secret_body_and_png(
    client: TestClient, runtime: Runtime, test_app: tuple[apps.App, str]
) -> None:
    app, key = test_app
    user = register(client, key)
    response = client.post(
        f"/protected/json/users/{user}/secret",
        json={"label": "ann@example.com", "qr_size": 250},
        headers=headers(key),
    )
    assert response.status_code == 200
    body = response.json()
    assert list(body) == ["label", "issuer", "qr_code", "success"]
    assert (body["label"], body["issuer"], body["success"]) == ("ann@example.com", "Test App", True)
    image = client.get(qr_path(body))
    assert image.status_code == 200
    assert image.headers["content-type"] == "image/png"
    assert image.headers["cache-control"] == "no-store"
    # the image encodes the otpauth URI of the person's secret (segno renders deterministically)
    seed = runtime.run(lambda tx: secrets.ensure_secret(tx, app, users.get(tx, app, user)))
    uri = otp.otpauth_uri(seed, issuer="Test App", label="ann@example.com")
    width, _height = png_size(image.content)
    assert image.content == secrets.render_png(uri, 250)
    assert abs(width - 250) <= 30


def test_the_same_secret_is_returned_and_sealed_at_rest(
    client: TestClient, runtime: Runtime, test_app: tuple[apps.App, str]
) -> None:
    app, key = test_app
    user = register(client, key)
    client.post(f"/protected/json/users/{user}/secret", headers=headers(key))
    first = runtime.run(lambda tx: secrets.ensure_secret(tx, app, users.get(tx, app, user)))
    client.post(f"/protected/json/users/{user}/secret", headers=headers(key))
    assert runtime.run(lambda tx: secrets.ensure_secret(tx, app, users.get(tx, app, user))) == first
    stored = runtime.run(lambda tx: tx.conn.execute(select(totp_secrets.c.seed)).scalar_one())
    assert stored.startswith("v1.")
    assert otp.base32_secret(first) not in stored
    assert first.hex() not in stored


@pytest.mark.parametrize(
    ("asked", "low", "high"), [(None, 270, 330), (10, 90, 130), (5000, 900, 1100)]
)
def test_qr_size_is_kept_within_bounds(
    client: TestClient, app_key: str, asked: int | None, low: int, high: int
) -> None:
    user = register(client, app_key)
    payload = {} if asked is None else {"qr_size": asked}
    body = client.post(
        f"/protected/json/users/{user}/secret", json=payload, headers=headers(app_key)
    ).json()
    width, height = png_size(client.get(qr_path(body)).content)
    assert width == height
    assert low <= width <= high


def test_links_expire_and_cannot_be_forged(
    client: TestClient, runtime: Runtime, clock: FrozenClock, app_key: str
) -> None:
    user = register(client, app_key)
    path = qr_path(
        client.post(f"/protected/json/users/{user}/secret", headers=headers(app_key)).json()
    )
    token = path.removeprefix("/qr/").removesuffix(".png")
    claims, mac = token.split(".")
    forged = f"/qr/{claims}.{'A' * len(mac)}.png"
    assert_error(client.get(forged), 404, "60000")
    assert_error(client.get("/qr/garbage.png"), 404, "60000")
    clock.advance(runtime.settings.qr_link_ttl_seconds + 1)
    assert_error(client.get(path), 404, "60000")


def test_disabled_generic_tokens(client: TestClient, runtime: Runtime) -> None:
    key = new_app(runtime, "No generic", generic_tokens_enabled="false")[1]
    user = register(client, key)
    response = client.post(f"/protected/json/users/{user}/secret", headers=headers(key))
    assert_error(response, 400, "60123")


def test_unknown_user(client: TestClient, app_key: str) -> None:
    assert_error(
        client.post("/protected/json/users/999/secret", headers=headers(app_key)),
        404,
        "60026",
        "User not found.",
    )


def test_form_and_query_encodings(client: TestClient, app_key: str) -> None:
    user = register(client, app_key)
    form = client.post(
        f"/protected/json/users/{user}/secret",
        content="qr_size=300&label=my+app",
        headers={**headers(app_key), "content-type": "application/x-www-form-urlencoded"},
    )
    assert form.json()["label"] == "my app"
    query = client.post(
        f"/protected/json/users/{user}/secret?qr_size=120", headers=headers(app_key)
    )
    assert query.status_code == 200
    bad = client.post(f"/protected/json/users/{user}/secret?qr_size=big", headers=headers(app_key))
    assert_error(bad, 400, "60004")
