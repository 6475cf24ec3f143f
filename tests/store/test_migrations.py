"""Migrations build the schema, reverse cleanly, and match the table definitions (alembic check)."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from tests.support import Templates, make_settings
from twostep.config import ConfigError
from twostep.services.bootstrap import prepare_schema
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


def test_a_schema_a_newer_release_migrated_is_used_as_it_is(
    empty_db: Database, tmp_path: Path
) -> None:
    """Expand/contract: this release runs on a schema a newer one migrated (a rolling upgrade,
    or going back a release), in embedded mode as in production; it neither fails on the
    revision it does not know nor touches the schema."""
    migrate.upgrade(empty_db.engine)
    with empty_db.engine.begin() as conn:
        conn.execute(text("UPDATE alembic_version SET version_num = '9000_newer_release'"))
    settings = make_settings(empty_db.url, tmp_path)
    for mode in ("embedded", "production"):
        prepare_schema(settings.model_copy(update={"mode": mode}), empty_db)
        assert migrate.current_revision(empty_db.engine) == "9000_newer_release"


def test_production_refuses_a_missing_or_older_schema(empty_db: Database, tmp_path: Path) -> None:
    settings = make_settings(empty_db.url, tmp_path).model_copy(update={"mode": "production"})
    with pytest.raises(ConfigError, match="no schema"):
        prepare_schema(settings, empty_db)
    migrate.upgrade(empty_db.engine, "0005")
    with pytest.raises(ConfigError, match="run `twostep db upgrade`"):
        prepare_schema(settings, empty_db)
