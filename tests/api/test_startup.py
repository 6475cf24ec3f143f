"""What the application does once at start-up, so that requests need not."""

from __future__ import annotations

import gc

from starlette.testclient import TestClient

from twostep.api.app import create_app
from twostep.services.runtime import Runtime


def test_start_up_objects_are_left_out_of_full_collections(runtime: Runtime) -> None:
    gc.unfreeze()
    try:
        with TestClient(create_app(runtime)) as client:
            assert client.get("/healthz").status_code == 200
            assert gc.get_freeze_count() > 10_000  # modules, schema, phone and locale data
    finally:
        gc.unfreeze()
