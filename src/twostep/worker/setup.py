"""Build a worker from the runtime: the configured providers of each channel (from the sealed
provider configuration), the handlers of other job kinds, one shared HTTP client."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import httpx

from twostep.delivery.registry import spec_for
from twostep.delivery.router import Route
from twostep.services import providers
from twostep.services.runtime import Runtime
from twostep.worker.callbacks import make_callback_handler
from twostep.worker.channels import Deliver, adapter
from twostep.worker.dispatch import Dispatcher
from twostep.worker.runner import Worker
from twostep.worker.webhooks import make_webhook_handler


def channel_routes(rt: Runtime, http: httpx.AsyncClient) -> dict[str, Deliver]:
    """The delivery function of every channel that has real providers (ConfigProblem if the
    configuration is incomplete: better to fail at start than at the first message)."""
    s = rt.settings
    stored = rt.run(providers.configs, write=False)
    routes: dict[str, Deliver] = {}
    wanted = {
        "sms": s.sms_providers,
        "voice": s.voice_providers,
        "email": s.email_providers,
        "push": s.push_providers,
    }
    for channel, names in wanted.items():
        providers.check_route(names)
        if names == [providers.DEV_PROVIDER]:
            continue
        configured = [(spec_for(name), stored.get(name, {})) for name in names]
        routes[channel] = adapter(channel, Route.build(channel, configured, http))
    return routes


@asynccontextmanager
async def build_worker(rt: Runtime) -> AsyncIterator[Worker]:
    async with httpx.AsyncClient(follow_redirects=False, timeout=10.0, http2=True) as http:
        handlers = {
            "callback": make_callback_handler(rt, http),
            "webhook": make_webhook_handler(rt, http),
        }
        dispatcher = Dispatcher(rt, channels=channel_routes(rt, http), handlers=handlers)
        yield Worker(rt, dispatcher)
