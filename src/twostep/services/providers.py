"""Delivery provider configuration: validated against each provider's self-description, stored
sealed (credentials are secrets at rest), shown censored."""

from __future__ import annotations

from typing import Any

import orjson

from twostep.delivery.base import ConfigProblem, censor
from twostep.delivery.registry import all_specs, spec_for
from twostep.services.runtime import Tx
from twostep.store import providers as q

DEV_PROVIDER = "outbox"


def _aad(name: str) -> str:
    return f"provider_configs:{name}"


def configs(tx: Tx) -> dict[str, dict[str, str]]:
    """Every stored configuration, opened (for the worker)."""
    return {
        name: orjson.loads(tx.keyring.open(sealed, _aad(name)))
        for name, sealed in q.all_sealed(tx.conn).items()
    }


def configure(
    tx: Tx, name: str, changes: dict[str, str], *, replace: bool = False
) -> dict[str, str]:
    """Set some of a provider's settings (or all, with ``replace``); returns the censored result.
    ConfigProblem names what is wrong."""
    spec = spec_for(name)
    current = {} if replace else configs(tx).get(name, {})
    values = spec.validate({**current, **changes})
    q.save(tx.conn, name, tx.keyring.seal(orjson.dumps(values), _aad(name)), tx.now)
    return censor(spec, values)


def remove(tx: Tx, name: str) -> bool:
    return q.remove(tx.conn, name)


def describe(tx: Tx) -> list[dict[str, Any]]:
    """Every known provider: channels, settings (secret ones flagged) and the censored configuration."""
    stored = configs(tx)
    return [
        {
            "name": spec.name,
            "channels": list(spec.channels),
            "fields": [
                {"name": f.name, "required": f.required, "secret": f.secret, "help": f.help}
                for f in spec.fields
            ],
            "configured": name in stored,
            "config": censor(spec, stored[name]) if name in stored else None,
        }
        for name, spec in sorted(all_specs().items())
    ]


def check_route(names: list[str]) -> None:
    """The development provider records instead of sending: it cannot share a route."""
    if DEV_PROVIDER in names and names != [DEV_PROVIDER]:
        raise ConfigProblem(f"{DEV_PROVIDER!r} must be the only provider of a channel")
