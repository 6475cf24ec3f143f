"""Logging set-up: one line per record (JSON in production, readable text in embedded mode), and
libraries that would print SQL parameters or request URLs kept quiet, so no secret reaches a log."""

from __future__ import annotations

import json
import logging
import os
from contextvars import ContextVar
from datetime import UTC, datetime
from typing import Any

# Loggers that can print statement parameters (SQLAlchemy), request URLs (httpx, httpcore) or
# migration chatter; raised to WARNING whatever the root level.
QUIET = ("sqlalchemy", "alembic", "httpx", "httpcore", "asyncio", "uvicorn.access")

# The id of the HTTP request being handled (set by the API's request middleware). Worker threads
# started with ``anyio.to_thread.run_sync`` run in a copy of the caller's context, so log lines
# written by services inside a request carry it too.
request_id: ContextVar[str | None] = ContextVar("twostep_request_id", default=None)


class RequestIdFilter(logging.Filter):
    """Sets ``record.request_id`` from the current request, unless the record has one."""

    def filter(self, record: logging.LogRecord) -> bool:
        if getattr(record, "request_id", None) is None:
            record.request_id = request_id.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname.lower(),
            "logger": record.name,
            "message": record.getMessage(),
        }
        request_id = getattr(record, "request_id", None)
        if request_id:
            entry["request_id"] = request_id
        fields = getattr(record, "fields", None)  # structured values (the access log)
        if isinstance(fields, dict):
            entry.update(fields)
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, ensure_ascii=False)


def configure_logging(*, json_lines: bool, level: int = logging.INFO) -> None:
    handler = logging.StreamHandler()
    handler.setFormatter(
        JsonFormatter()
        if json_lines
        else logging.Formatter("%(asctime)s %(levelname)s %(name)s %(message)s")
    )
    handler.addFilter(RequestIdFilter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_from_env() -> None:
    """JSON lines in production (``TWOSTEP_MODE``), level from ``TWOSTEP_LOG_LEVEL``; for processes
    that do not start through the CLI (the server processes uvicorn spawns)."""
    production = os.environ.get("TWOSTEP_MODE", "embedded") == "production"
    level = getattr(logging, os.environ.get("TWOSTEP_LOG_LEVEL", "INFO").upper(), logging.INFO)
    configure_logging(json_lines=production, level=level)
