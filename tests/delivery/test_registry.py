from __future__ import annotations

from collections.abc import Iterator, Mapping
from importlib.metadata import EntryPoint
from typing import Any

import httpx
import pytest

from twostep.delivery import registry
from twostep.delivery.base import ConfigField, ConfigProblem, ProviderSpec


def _factory(config: Mapping[str, str], http: httpx.AsyncClient) -> object:
    return object()


PLUGIN_SPEC = ProviderSpec(
    name="acme_sms", channels=("sms",), fields=(ConfigField("key"),), factory=_factory
)
NOT_A_SPEC = {"name": "acme"}
CLASHING_SPEC = ProviderSpec(name="twilio", channels=("sms",), fields=(), factory=_factory)

CHANNEL_METHODS = {"sms": "send_sms", "voice": "call", "email": "send_email", "push": "push"}


@pytest.fixture
def plugins(monkeypatch: pytest.MonkeyPatch) -> Iterator[list[EntryPoint]]:
    """Entry points as installed packages would announce them."""
    points: list[EntryPoint] = []

    def entry_points(group: str) -> list[EntryPoint]:
        assert group == "twostep.delivery"
        return points

    monkeypatch.setattr(registry, "entry_points", entry_points)
    registry._plugins.cache_clear()
    yield points
    registry._plugins.cache_clear()


def point(name: str, value: str) -> EntryPoint:
    return EntryPoint(name=name, value=value, group="twostep.delivery")


def test_builtin_providers() -> None:
    assert set(registry.BUILTIN) == {
        "twilio",
        "vonage",
        "http_gateway",
        "smtp",
        "ntfy",
        "fcm",
        "apns",
        "webpush",
    }
    assert registry.BUILTIN["twilio"].channels == ("sms", "voice")
    assert registry.BUILTIN["smtp"].channels == ("email",)
    for name in ("ntfy", "fcm", "apns", "webpush"):
        assert registry.BUILTIN[name].channels == ("push",)


@pytest.mark.parametrize("name", sorted(registry.BUILTIN))
def test_every_spec_is_consistent(name: str) -> None:
    spec = registry.BUILTIN[name]
    assert spec.name == name
    names = [f.name for f in spec.fields]
    assert len(names) == len(set(names))
    for f in spec.fields:
        assert f.help, f"{name}.{f.name} has no help"
        assert not (f.required and f.default), f"{name}.{f.name}: a default makes it optional"
    assert spec.secret_fields, f"{name} has no secret: where do its credentials go?"


def test_provider_classes_serve_their_channels() -> None:
    from twostep.delivery import apns, fcm, http_gateway, ntfy, smtp, twilio, vonage, webpush

    classes: dict[str, Any] = {
        "twilio": twilio.Twilio,
        "vonage": vonage.Vonage,
        "http_gateway": http_gateway.HttpGateway,
        "smtp": smtp.Smtp,
        "ntfy": ntfy.Ntfy,
        "fcm": fcm.Fcm,
        "apns": apns.Apns,
        "webpush": webpush.WebPush,
    }
    for name, cls in classes.items():
        assert cls.name == name
        for channel in registry.BUILTIN[name].channels:
            assert callable(getattr(cls, CHANNEL_METHODS[channel]))
        if "push" in registry.BUILTIN[name].channels:
            assert getattr(cls, "schemes", ()) == (name,)


def test_spec_for(plugins: list[EntryPoint]) -> None:
    assert registry.spec_for("vonage") is registry.BUILTIN["vonage"]
    with pytest.raises(ConfigProblem, match=r"unknown delivery provider 'sms77' \(known: apns, "):
        registry.spec_for("sms77")


def test_plugins_are_found_by_entry_point(plugins: list[EntryPoint]) -> None:
    plugins.append(point("acme", "tests.delivery.test_registry:PLUGIN_SPEC"))
    assert registry.load_entry_points() == {"acme_sms": PLUGIN_SPEC}
    assert registry.spec_for("acme_sms") is PLUGIN_SPEC
    assert registry.all_specs().keys() == {*registry.BUILTIN, "acme_sms"}


@pytest.mark.parametrize(
    ("value", "problem"),
    [
        ("tests.delivery.test_registry:NOT_A_SPEC", "is not a ProviderSpec"),
        ("tests.delivery.test_registry:CLASHING_SPEC", "reuses the name 'twilio'"),
        ("tests.delivery.no_such_module:SPEC", "failed to load"),
    ],
)
def test_broken_plugins_are_reported(plugins: list[EntryPoint], value: str, problem: str) -> None:
    plugins.append(point("broken", value))
    with pytest.raises(ConfigProblem, match=problem):
        registry.load_entry_points()
