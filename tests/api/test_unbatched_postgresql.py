"""`postgres_batching = false` (for a transaction-mode pooler such as PgBouncer, which cannot carry
SQL-level prepared statements): the request threads' transactions are SQLAlchemy's, one statement
per round trip, as before batching. The busiest flows' own tests run again here in that
configuration, on PostgreSQL (SQLite never batches)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

# Tests (and the fixtures they use) from their own modules, collected again under this module's
# database and settings: those that agree on the `user` fixture (the default registration).
from tests.api.test_device_api import (  # noqa: F401
    device,
    test_answers_that_are_refused,
    test_approve_and_deny,
)
from tests.api.test_onetouch import test_pending_limit  # noqa: F401
from tests.api.test_send_codes import test_send_rate_limit_per_user  # noqa: F401
from tests.api.test_verify import (  # noqa: F401
    test_brute_force_lockout_even_with_the_right_code,
    test_device_tokens_with_window_and_replay,
    test_each_active_device_of_the_user_verifies_and_no_other,
    test_replayed_code_is_60019,
    user,
)
from tests.store.test_transactions import (  # noqa: F401
    probe,
    test_a_statement_error_rolls_back_the_unit,
    test_a_unit_that_fails_leaves_nothing_and_the_next_one_works,
    test_driver_and_core_writes_commit_together,
)
from tests.support import Templates
from twostep.services.runtime import Runtime


@pytest.fixture
def database_url(templates: Templates, tmp_path: Path) -> Iterator[str]:
    with templates.copy("postgresql", tmp_path) as url:
        yield url


@pytest.fixture
def settings_overrides() -> dict[str, object]:
    return {"postgres_batching": False}


def test_the_setting_turns_batching_off(runtime: Runtime) -> None:
    assert not runtime.db.batching
