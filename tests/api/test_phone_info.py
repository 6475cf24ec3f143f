"""Phone intelligence (spec §7 P4) through HTTP, and the pure offline lookup."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlencode

import pytest
from starlette.testclient import TestClient

from tests.api.helpers import assert_error, headers
from twostep.api import app as api_app
from twostep.api.routes import app as app_routes
from twostep.api.routes import phones as phone_routes
from twostep.clock import FrozenClock
from twostep.core.phone import normalise
from twostep.core.phoneinfo import PhoneInfo, lookup, sandbox_lookup
from twostep.services import apps
from twostep.services.runtime import Runtime

INFO = "/protected/json/phones/info"
AS_OF = re.compile(r"Phone number information as of \d+-\d+-\d+ \d+:\d+:\d+ UTC")  # authy-client


@pytest.fixture(autouse=True)
def _phone_and_app_routes(monkeypatch: pytest.MonkeyPatch) -> None:
    """Serve the P/A routes even before the lead wires them into ``all_routes``."""
    present = {getattr(r, "path", None) for r in api_app.all_routes()}
    mine = [r for r in [*phone_routes.routes, *app_routes.routes] if r.path not in present]
    if mine:
        wired = api_app.all_routes
        monkeypatch.setattr(api_app, "all_routes", lambda: [*wired(), *mine])


def info(client: TestClient, key: str, country_code: Any, number: str) -> Any:
    params = {"country_code": country_code, "phone_number": number}
    return client.get(INFO, params=params, headers=headers(key))


def test_exact_body_with_the_server_clock(
    client: TestClient, app_key: str, clock: FrozenClock
) -> None:
    response = info(client, app_key, 1, "201-555-0123")
    assert response.status_code == 200
    assert response.content == (
        b'{"message":"Phone number information as of 2025-11-24 16:00:00 UTC",'
        b'"type":"cellphone","provider":"","ported":false,"success":true}'
    )
    clock.advance(3661)
    later = info(client, app_key, "+1", "2015550123").json()
    assert later["message"] == "Phone number information as of 2025-11-24 17:01:01 UTC"
    assert AS_OF.fullmatch(later["message"])


@pytest.mark.parametrize(
    ("country_code", "number", "kind", "provider"),
    [
        (44, "07400 123456", "cellphone", "Three"),  # MOBILE
        (49, "1512 3456789", "cellphone", "T-Mobile"),
        (1, "775-461-5609", "cellphone", ""),  # FIXED_LINE_OR_MOBILE: +1 cannot tell
        (44, "0121 234 5678", "landline", ""),  # FIXED_LINE
        (44, "056 1234 5678", "voip", ""),  # VOIP
        (44, "0901 234 5678", "unknown", ""),  # PREMIUM_RATE
        (1, "800-234-5678", "unknown", ""),  # TOLL_FREE
    ],
)
def test_type_and_provider_from_offline_data(
    client: TestClient, app_key: str, country_code: int, number: str, kind: str, provider: str
) -> None:
    body = info(client, app_key, country_code, number).json()
    assert (body["type"], body["provider"], body["ported"]) == (kind, provider, False)


def test_errors(client: TestClient, app_key: str) -> None:
    assert_error(info(client, app_key, 1, "123"), 400, "60033", "Phone number is invalid")
    assert_error(info(client, app_key, 1, "111-111-1111"), 400, "60033")
    missing = client.get(INFO, params={"phone_number": "2015550123"}, headers=headers(app_key))
    assert_error(missing, 400, "60004", "Invalid parameter: country_code - Parameter is required")
    assert_error(info(client, "nope", 1, "201-555-0123"), 401, "60001", "Invalid API key")


def test_parameters_in_a_form_body_on_get(client: TestClient, app_key: str) -> None:
    form = {"api_key": app_key, "country_code": "1", "phone_number": "7754615609"}
    response = client.request(
        "GET",
        INFO,
        content=urlencode(form),
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    assert response.json()["type"] == "cellphone"


def test_sandbox_answers_are_canned(client: TestClient, runtime: Runtime) -> None:
    key = runtime.run(lambda tx: apps.create(tx, "Sandbox App 1", sandbox=True))[1]
    even = info(client, key, 1, "111-111-1112").json()
    assert (even["type"], even["provider"], even["ported"]) == ("landline", "Google Voice", False)
    odd = info(client, key, 1, "7754615609").json()
    assert (odd["type"], odd["provider"]) == ("voip", "Google Voice")
    assert AS_OF.fullmatch(odd["message"])


def test_pure_lookup() -> None:
    assert lookup(normalise(44, "7400123456")) == PhoneInfo("cellphone", "Three")
    assert lookup(normalise(44, "7400123456")).is_cellphone
    assert not lookup(normalise(44, "1212345678")).is_cellphone
    assert sandbox_lookup(normalise(1, "2015550124")) == PhoneInfo("landline", "Google Voice")
    assert sandbox_lookup(normalise(1, "2015550123")).type == "voip"
