"""Migrations build the schema, reverse cleanly, and match the table definitions (alembic check)."""

from __future__ import annotations

import pytest

from tests.support import Templates
from twostep.store import migrate
from twostep.store.db import Database


@pytest.fixture(params=["sqlite", "postgresql"])
def empty_db(request: pytest.FixtureRequest, templates: Templates, tmp_path) -> Database:  # type: ignore[no-untyped-def]
    with templates.copy(request.param, tmp_path) as url:
        db = Database(url.replace("postgresql://", "postgresql+psycopg://"))
        migrate.downgrade(db.engine, "base")
        yield db
        db.dispose()


def test_upgrade_downgrade_upgrade_and_check(empty_db: Database) -> None:
    assert migrate.current_revision(empty_db.engine) is None
    migrate.upgrade(empty_db.engine)
    assert migrate.current_revision(empty_db.engine) == migrate.head_revision()
    migrate.check(empty_db.engine)
    migrate.downgrade(empty_db.engine, "base")
    assert migrate.current_revision(empty_db.engine) is None
    migrate.upgrade(empty_db.engine)
    migrate.check(empty_db.engine)


def test_check_fails_when_behind(empty_db: Database) -> None:
    with pytest.raises(migrate.SchemaNotCurrent):
        migrate.check(empty_db.engine)


def test_migration_files_have_descriptive_names() -> None:
    from pathlib import Path

    versions = Path(migrate.__file__).parent / "migrations" / "versions"
    names = sorted(p.stem for p in versions.glob("*.py"))
    assert names
    for name in names:
        rev, _, slug = name.partition("_")
        assert rev.isdigit()
        assert len(slug.split("_")) >= 2, name
