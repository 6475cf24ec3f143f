"""The webhooks API (spec §6): create, list and delete webhooks under
``/dashboard/json/application/webhooks``, authenticated by the application's API key, its access
key and an HMAC signature with its API signing key (headers X-Authy-Signature, -Nonce)."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from twostep.api.asgi import Incoming
from twostep.api.endpoint import error_response, read_params, respond, runtime_of
from twostep.services import webhooks
from twostep.services.runtime import Tx

BASE = "/dashboard/json/application/webhooks"


def _urls(request: Request, public_url: str) -> tuple[str, ...]:
    """The URL the client signed: as this server saw it, or as the public URL names it (behind a
    TLS-terminating proxy the scheme and host differ)."""
    seen = str(request.url.replace(query=""))
    return (seen, public_url + request.url.path)


async def _handle(request: Request, action: str) -> Response:
    rt = runtime_of(request)
    try:
        params = await read_params(Incoming(request.scope, request.receive), rt)
        signed = webhooks.SignedRequest(
            nonce=request.headers.get("x-authy-signature-nonce", ""),
            signature=request.headers.get("x-authy-signature", ""),
            method=request.method,
            urls=_urls(request, rt.settings.resolved_public_url),
            params=params,
        )
        webhook_id = request.path_params.get("webhook_id", "")

        def unit(tx: Tx) -> dict[str, object]:
            app = webhooks.authenticate(tx, signed)
            if action == "create":
                created = webhooks.create(
                    tx,
                    app,
                    name=params.get("name"),
                    url=params.get("url"),
                    events=params.get("events"),
                )
                return {"webhook": created, "message": "Webhook created", "success": True}
            if action == "list":
                found = webhooks.list_for(tx, app)
                return {"webhooks": found, "message": "Webhooks retrieved", "success": True}
            webhooks.delete(tx, app, webhook_id)
            return {"message": "Webhook deleted", "success": True}

        body = await rt.in_thread(lambda: rt.run(unit))
    except Exception as exc:  # noqa: BLE001 - every failure becomes an Authy envelope
        return error_response(exc, "json")
    return respond(200, body, "json")


async def create(request: Request) -> Response:
    return await _handle(request, "create")


async def list_webhooks(request: Request) -> Response:
    return await _handle(request, "list")


async def delete(request: Request) -> Response:
    return await _handle(request, "delete")


routes = [
    Route(BASE, create, methods=["POST"]),
    Route(BASE, list_webhooks, methods=["GET"]),
    Route(f"{BASE}/{{webhook_id}}", delete, methods=["DELETE"]),
]
