"""Logging set-up: one line per record (JSON in production, readable text in embedded mode), and
libraries that would print SQL parameters or request URLs kept quiet, so no secret reaches a log."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime
from typing import Any

# Loggers that can print statement parameters (SQLAlchemy), request URLs (httpx, httpcore) or
# migration chatter; raised to WARNING whatever the root level.
QUIET = ("sqlalchemy", "alembic", "httpx", "httpcore", "asyncio", "uvicorn.access")


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
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for name in QUIET:
        logging.getLogger(name).setLevel(logging.WARNING)
