"""The device's live stream (``GET /device/v1/approval_requests/stream``): Server-Sent Events.

The request is authenticated once (signature, nonce) in one transaction that also reads what waits
for the device. The stream then sends every pending approval request (``event: approval_request``)
and recovery enrolment the device may decide (``event: enrollment``), then each new one as it
appears: it wakes when the device's person is announced (``person:{id}``, from this node or, with
PostgreSQL, any node) and re-reads the database at least every ``RECHECK_SECONDS`` whatever happens,
which keeps several SQLite processes correct. A ``: keep-alive`` comment goes out when nothing else
was sent for ``KEEP_ALIVE_SECONDS``.

The stream ends when the client disconnects (Starlette cancels it), when the device is revoked,
after ``MAX_STREAM_SECONDS`` (the client reconnects after the advertised ``retry`` delay; this also
bounds how long a stream can hold up a graceful server shutdown, after which the server cancels it).
"""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from typing import Any

import anyio
import anyio.to_thread
import orjson
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse

from twostep.api.asgi import Incoming
from twostep.api.device_endpoint import prepare
from twostep.api.endpoint import error_response, runtime_of
from twostep.errors import InvalidSignature
from twostep.services import device_inbox
from twostep.services.device_inbox import Inbox
from twostep.services.runtime import Runtime

log = logging.getLogger("twostep.api")

RECHECK_SECONDS = 2.0
KEEP_ALIVE_SECONDS = 15.0
MAX_STREAM_SECONDS = 300.0
RETRY_MS = 3000


def event(name: str, data: dict[str, Any]) -> bytes:
    return b"event: " + name.encode() + b"\ndata: " + orjson.dumps(data) + b"\n\n"


class _Unsent:
    """Remembers what was sent, so each request and enrolment goes out once."""

    def __init__(self) -> None:
        self.requests: set[str] = set()
        self.enrollments: set[str] = set()

    def events(self, inbox: Inbox) -> bytes:
        chunks = [
            event("approval_request", r)
            for r in reversed(inbox.approval_requests)  # oldest first
            if r["uuid"] not in self.requests
        ]
        chunks += [
            event("enrollment", e)
            for e in reversed(inbox.enrollments)
            if e["enrollment_id"] not in self.enrollments
        ]
        # what is no longer pending never becomes pending again: forget it
        self.requests = {r["uuid"] for r in inbox.approval_requests}
        self.enrollments = {e["enrollment_id"] for e in inbox.enrollments}
        return b"".join(chunks)


async def _events(
    rt: Runtime, device_id: int, person_id: int, first: Inbox
) -> AsyncIterator[bytes]:
    unsent = _Unsent()
    started = last_sent = anyio.current_time()
    yield f"retry: {RETRY_MS}\n\n".encode()
    inbox = first
    while True:
        chunk = unsent.events(inbox)
        now = anyio.current_time()
        if chunk:
            yield chunk
            last_sent = now
        elif now - last_sent >= KEEP_ALIVE_SECONDS:
            yield b": keep-alive\n\n"
            last_sent = now
        if now - started >= MAX_STREAM_SECONDS:
            return
        quiet_left = max(0.05, KEEP_ALIVE_SECONDS - (now - last_sent))
        await rt.notifier.wait(f"person:{person_id}", min(RECHECK_SECONDS, quiet_left))
        if rt.notifier.closing:
            return  # the server is shutting down; the client reconnects (``retry``) elsewhere
        try:
            inbox = await rt.in_thread(
                lambda: rt.run(lambda tx: device_inbox.inbox(tx, device_id), write=False)
            )
        except InvalidSignature:
            return  # revoked meanwhile
        except Exception:
            log.exception("device stream stopped")
            return


async def stream(request: Request) -> Response:
    try:
        prepared = await prepare(Incoming(request.scope, request.receive), runtime_of(request))
        device, first = await prepared.rt.in_thread(
            lambda: prepared.run(
                lambda call: (call.device, device_inbox.inbox(call.tx, call.device.id))
            )
        )
    except Exception as exc:  # noqa: BLE001 - every failure becomes an Authy envelope
        return error_response(exc, "json")
    return StreamingResponse(
        _events(prepared.rt, device.id, device.person_id, first),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-store", "X-Accel-Buffering": "no"},
    )
