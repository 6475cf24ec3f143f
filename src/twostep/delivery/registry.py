"""Which providers exist: the built-in ones, and third-party ones that installed packages announce
under the ``twostep.delivery`` entry-point group, each entry point naming a ProviderSpec:

    [project.entry-points."twostep.delivery"]
    acme_sms = "acme_twostep:SPEC"
"""

from __future__ import annotations

from functools import cache
from importlib.metadata import entry_points

from twostep.delivery import apns, fcm, http_gateway, ntfy, smtp, twilio, vonage, webpush
from twostep.delivery.base import ConfigProblem, ProviderSpec

ENTRY_POINT_GROUP = "twostep.delivery"

BUILTIN: dict[str, ProviderSpec] = {
    spec.name: spec
    for spec in (
        twilio.SPEC,
        vonage.SPEC,
        http_gateway.SPEC,
        smtp.SPEC,
        ntfy.SPEC,
        fcm.SPEC,
        apns.SPEC,
        webpush.SPEC,
    )
}


def load_entry_points() -> dict[str, ProviderSpec]:
    """Third-party specs by name. A broken plugin is a configuration problem, reported by name,
    rather than a provider that silently never shows up."""
    found: dict[str, ProviderSpec] = {}
    for point in entry_points(group=ENTRY_POINT_GROUP):
        try:
            spec = point.load()
        except Exception as exc:  # any failure to import a plugin means the same
            raise ConfigProblem(f"delivery plugin {point.name!r} failed to load: {exc}") from exc
        if not isinstance(spec, ProviderSpec):
            raise ConfigProblem(f"delivery plugin {point.name!r} is not a ProviderSpec")
        if spec.name in BUILTIN or spec.name in found:
            raise ConfigProblem(f"delivery plugin {point.name!r} reuses the name {spec.name!r}")
        found[spec.name] = spec
    return found


@cache
def _plugins() -> dict[str, ProviderSpec]:
    return load_entry_points()


def all_specs() -> dict[str, ProviderSpec]:
    return {**BUILTIN, **_plugins()}


def spec_for(name: str) -> ProviderSpec:
    spec = BUILTIN.get(name) or _plugins().get(name)
    if spec is None:
        known = ", ".join(sorted(all_specs()))
        raise ConfigProblem(f"unknown delivery provider {name!r} (known: {known})")
    return spec
