"""The metrics endpoint of ``twostep worker`` (``--metrics-port`` / ``worker_metrics_port``): a small
threaded HTTP server beside the worker loop, serving ``/metrics`` (with the bearer
``metrics_token`` when one is set) and ``/healthz`` (liveness for the worker's container)."""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterable
from socketserver import ThreadingMixIn
from typing import Any
from wsgiref.simple_server import WSGIRequestHandler, WSGIServer, make_server
from wsgiref.types import StartResponse, WSGIEnvironment

from twostep import metrics
from twostep.services.health import OutboxCollector
from twostep.services.runtime import Runtime


class _Server(ThreadingMixIn, WSGIServer):
    daemon_threads = True
    allow_reuse_address = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class _Quiet(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No request lines on stderr."""


def _app(rt: Runtime, token: str | None) -> Any:
    collector = OutboxCollector(rt)

    def app(environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path == "/healthz":
            start_response("200 OK", [("Content-Type", "application/json")])
            return [b'{"status":"ok"}']
        if path != "/metrics":
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"not found\n"]
        if not metrics.authorized(environ.get("HTTP_AUTHORIZATION"), token):
            start_response(
                "401 Unauthorized",
                [("Content-Type", "text/plain"), ("WWW-Authenticate", "Bearer")],
            )
            return [b"a valid metrics token is required\n"]
        body = metrics.exposition(collector)
        start_response("200 OK", [("Content-Type", metrics.CONTENT_TYPE)])
        return [body]

    return app


class MetricsServer:
    """Started before the worker loop, stopped after it."""

    def __init__(self, rt: Runtime, host: str, port: int) -> None:
        s = rt.settings
        token = s.metrics_token.get_secret_value() if s.metrics_token else None
        server_class = _Server6 if ":" in host else _Server
        self.server = make_server(
            host, port, _app(rt, token), server_class=server_class, handler_class=_Quiet
        )
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="metrics-http", daemon=True
        )

    @property
    def port(self) -> int:
        return int(self.server.server_address[1])

    def __enter__(self) -> MetricsServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=5)
