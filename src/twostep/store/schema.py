"""Table definitions (SQLAlchemy Core). Migrations under ``migrations/versions`` build the schema;
``twostep db check`` verifies the two agree."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from twostep.store.types import UTCDateTime

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "ck": "ck_%(table_name)s_%(constraint_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

# Integer primary keys that must be 64-bit on PostgreSQL but INTEGER (rowid alias) on SQLite.
BigId = BigInteger().with_variant(Integer(), "sqlite")

keyring = Table(
    "keyring",
    metadata,
    Column("id", String(16), primary_key=True),
    Column("purpose", String(16), nullable=False),  # "data" or "derive"
    Column("wrapped", LargeBinary, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("retired_at", UTCDateTime),
)

applications = Table(
    "applications",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("public_id", String(24), nullable=False, unique=True),
    Column("name", String(255), nullable=False),
    Column("settings", JSON, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("app_id", ForeignKey("applications.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("key_hash", LargeBinary(32), nullable=False, unique=True),
    Column("serial", Integer, nullable=False),
    Column("salt", LargeBinary(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime),
)

persons = Table(
    "persons",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),  # the Authy id
    Column("country_code", Integer, nullable=False),
    Column("national_number", String(20), nullable=False),
    Column("e164", String(24), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
)

app_users = Table(
    "app_users",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("app_id", ForeignKey("applications.id", ondelete="CASCADE"), nullable=False),
    Column("person_id", ForeignKey("persons.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("public_id", String(24), nullable=False),
    Column("email", String(320), nullable=False),
    Column("confirmed", Boolean, nullable=False, default=False),
    Column("banned", Boolean, nullable=False, default=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime),
    Column("purge_after", UTCDateTime, index=True),
    UniqueConstraint("app_id", "person_id"),
)

activities = Table(
    "activities",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("app_id", ForeignKey("applications.id", ondelete="CASCADE"), nullable=False),
    Column("person_id", ForeignKey("persons.id", ondelete="CASCADE"), nullable=False),
    Column("type", String(32), nullable=False),
    Column("user_ip", String(64)),
    Column("data", JSON),
    Column("created_at", UTCDateTime, nullable=False),
    Index(None, "app_id", "person_id"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("at", UTCDateTime, nullable=False, index=True),
    Column("app_id", Integer),
    Column("person_id", BigInteger),
    Column("event", String(64), nullable=False),
    Column("detail", Text),
)
