"""Application factory for server processes: builds settings and runtime from the environment (each
``serve`` worker process calls this once)."""

from __future__ import annotations

from starlette.applications import Starlette

from twostep.api.app import create_app
from twostep.config import load_settings
from twostep.logs import configure_from_env
from twostep.services.bootstrap import build_runtime


def create_from_env() -> Starlette:
    configure_from_env()  # a spawned process: the CLI's logging set-up did not run here
    settings = load_settings()
    runtime = build_runtime(settings, migrate_schema=False)
    return create_app(runtime)
