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
    Column("region", String(3)),  # found once (core.phone); NULL in rows from before 0006
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
    # no index on at: read newest first by id, which follows time (migration 0008)
    Column("at", UTCDateTime, nullable=False),
    Column("app_id", Integer),
    Column("person_id", BigInteger),
    Column("event", String(64), nullable=False),
    Column("detail", Text),
)

# --- authenticator devices (a person's phones) and their per-application seeds ---------------------

devices = Table(
    "devices",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("person_id", ForeignKey("persons.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("device_type", String(32), nullable=False),
    Column("os_type", String(32), nullable=False),
    Column("name", String(100), nullable=False),
    Column("public_key", LargeBinary(32)),
    Column("push_address", Text),  # sealed
    Column("registration_method", String(16)),
    Column("registration_ip", String(64)),
    Column("status", String(16), nullable=False),  # pending | active | revoked
    Column("created_at", UTCDateTime, nullable=False),
    Column("last_sync_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
)

device_seeds = Table(
    "device_seeds",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("device_id", ForeignKey("devices.id", ondelete="CASCADE"), nullable=False),
    Column("app_id", ForeignKey("applications.id", ondelete="CASCADE"), nullable=False),
    Column("seed", Text, nullable=False),  # sealed
    Column("last_step", BigInteger, nullable=False),  # last accepted time-step (replay guard)
    Column("created_at", UTCDateTime, nullable=False),
    Column("revoked_at", UTCDateTime),  # the application removed this device from the user
    UniqueConstraint("device_id", "app_id"),
)

# --- generic authenticator secrets (U5) and one-time codes sent by sms/voice/email ---------------

totp_secrets = Table(
    "totp_secrets",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("app_id", ForeignKey("applications.id", ondelete="CASCADE"), nullable=False),
    Column("person_id", ForeignKey("persons.id", ondelete="CASCADE"), nullable=False),
    Column("seed", Text, nullable=False),  # sealed
    Column("last_step", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    UniqueConstraint("app_id", "person_id"),
)

otp_codes = Table(
    "otp_codes",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("app_id", ForeignKey("applications.id", ondelete="CASCADE"), nullable=False),
    Column("person_id", ForeignKey("persons.id", ondelete="CASCADE"), nullable=False),
    Column("channel", String(8), nullable=False),
    Column("digest", LargeBinary(32), nullable=False),  # keyed hash of code + action
    Column("action", String(255)),
    Column("attempts", Integer, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
    Column("consumed_at", UTCDateTime),
    Index(None, "app_id", "person_id"),
)

# --- the outbox: work that must happen, written in the same transaction as its cause -------------

outbox = Table(
    "outbox",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("kind", String(16), nullable=False),  # sms | voice | email | push | callback | webhook
    Column("app_id", Integer),
    Column("idempotency_key", String(64), nullable=False, unique=True),
    Column("payload", Text, nullable=False),  # sealed JSON; emptied once delivered
    Column("status", String(12), nullable=False),  # pending | done | dead
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime),
    Column("last_error", Text),
    Column("provider", String(32)),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("delivered_at", UTCDateTime),
    Index(None, "status", "next_attempt_at"),
)

# What the development `outbox` provider "sent", readable by `twostep outbox list` and the admin API.
dev_messages = Table(
    "dev_messages",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("channel", String(8), nullable=False),
    Column("recipient", String(320), nullable=False, index=True),
    Column("subject", String(255)),
    Column("body", Text, nullable=False),
    Column("code", String(16)),
    Column("idempotency_key", String(64), nullable=False, unique=True),
    Column("created_at", UTCDateTime, nullable=False),
)

# Sliding-window rate limiting shared by every node: one row per counted event.
rate_hits = Table(
    "rate_hits",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("bucket", String(32), nullable=False),
    Column("subject", String(128), nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Index(None, "bucket", "subject", "at"),
)

# Delivery provider configuration (credentials sealed), managed by `twostep providers`.
provider_configs = Table(
    "provider_configs",
    metadata,
    Column("name", String(32), primary_key=True),
    Column("config", Text, nullable=False),  # sealed JSON
    Column("updated_at", UTCDateTime, nullable=False),
)

# --- OneTouch ---------------------------------------------------------------------------------------

approval_requests = Table(
    "approval_requests",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("public_id", String(24), nullable=False),
    Column("app_id", ForeignKey("applications.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("person_id", ForeignKey("persons.id", ondelete="CASCADE"), nullable=False),
    Column("message", Text, nullable=False),
    Column("details", JSON),
    Column("hidden_details", JSON),
    Column("logos", JSON),
    Column("seconds_to_expire", Integer, nullable=False),
    Column("expires_at", UTCDateTime),  # null: never expires
    Column("status", String(10), nullable=False),  # pending | approved | denied | expired
    Column("notified", Boolean, nullable=False),
    Column("number_match", String(2)),  # anti-fatigue: the number the customer shows
    Column("number_choices", JSON),  # the three numbers the device shows
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("processed_at", UTCDateTime),
    Column("device_id", BigInteger),  # the device that answered
    Column("reason", String(32)),
    Column("signed_at", BigInteger),
    Column("device_signature", Text),
    Column("shown_digest", String(64)),
    Index(None, "person_id", "status"),
    Index(None, "status", "expires_at"),
)

# Device enrolment: by a PIN sent to the phone (with a recovery delay when the person already has
# a device: SIM-swap protection) or by a one-time link a customer application asked for.
enrollments = Table(
    "enrollments",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("public_id", String(43), nullable=False, unique=True),
    Column("method", String(8), nullable=False),  # sms | call | link
    Column("person_id", ForeignKey("persons.id", ondelete="CASCADE")),
    Column("app_id", ForeignKey("applications.id", ondelete="CASCADE")),
    Column("pin_digest", LargeBinary(32)),
    Column("attempts", Integer, nullable=False),
    Column("device_id", ForeignKey("devices.id", ondelete="CASCADE")),
    Column("status", String(20), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("activates_at", UTCDateTime),
    Column("completed_at", UTCDateTime),
    Index(None, "status", "activates_at"),
)

# Nonces of signed device requests, kept for the replay window.
device_nonces = Table(
    "device_nonces",
    metadata,
    Column("device_id", ForeignKey("devices.id", ondelete="CASCADE"), primary_key=True),
    Column("nonce", String(64), primary_key=True),
    Column("at", UTCDateTime, nullable=False, index=True),
)

# One row per delivery attempt of an outbox job (callbacks, messages, pushes).
delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("outbox_id", BigInteger, nullable=False, index=True),
    Column("attempt", Integer, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("provider", String(32), nullable=False),
    Column("ok", Boolean, nullable=False),
    Column("detail", Text),
    Column("duration_ms", Integer, nullable=False),
)

# --- phone verification (Verify v1, P1-P3) and monthly application statistics (A2) ---------------

# One verification per (application, number): a new start replaces the previous one.
phone_verifications = Table(
    "phone_verifications",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("uuid", String(36), nullable=False, unique=True),
    Column("app_id", ForeignKey("applications.id", ondelete="CASCADE"), nullable=False),
    Column("e164", String(24), nullable=False),
    Column("via", String(4), nullable=False),  # sms | call
    Column("locale", String(8), nullable=False),
    Column("digest", LargeBinary(32), nullable=False),  # keyed hash of the code
    Column("attempts", Integer, nullable=False),  # wrong checks so far
    Column("status", String(10), nullable=False),  # pending | verified | failed
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False, index=True),
    Column("verified_at", UTCDateTime),
    UniqueConstraint("app_id", "e164"),
)

# Monthly counters per application (UTC months), incremented with an atomic upsert.
app_monthly_stats = Table(
    "app_monthly_stats",
    metadata,
    Column(
        "app_id",
        ForeignKey("applications.id", ondelete="CASCADE"),
        primary_key=True,
        nullable=False,
    ),
    Column("year", Integer, primary_key=True, nullable=False),
    Column("month", Integer, primary_key=True, nullable=False),
    Column("api_calls", BigInteger, nullable=False),
    Column("auths", BigInteger, nullable=False),
    Column("sms", BigInteger, nullable=False),
    Column("calls", BigInteger, nullable=False),
    Column("users", BigInteger, nullable=False),
)

# --- webhooks (spec §6) and worker liveness ----------------------------------------------------------

# The dashboard credentials of an application: the account "access key" and the API signing key
# that signs webhook-management requests. Both sealed: operators can show them again.
dashboard_keys = Table(
    "dashboard_keys",
    metadata,
    Column("app_id", ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True),
    Column("access_key", Text, nullable=False),  # sealed
    Column("signing_key", Text, nullable=False),  # sealed
    Column("created_at", UTCDateTime, nullable=False),
    Column("rotated_at", UTCDateTime),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", BigId, primary_key=True, autoincrement=True),
    Column("public_id", String(34), nullable=False, unique=True),  # "WH" + 32 hex
    Column("app_id", ForeignKey("applications.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("name", String(255), nullable=False),
    Column("url", Text, nullable=False),
    Column("events", JSON, nullable=False),
    Column("signing_key", Text, nullable=False),  # sealed "WSK_…"
    Column("created_at", UTCDateTime, nullable=False),
)

# Nonces of signed dashboard-API requests, kept for the replay window.
api_nonces = Table(
    "api_nonces",
    metadata,
    Column("app_id", ForeignKey("applications.id", ondelete="CASCADE"), primary_key=True),
    Column("nonce", String(128), primary_key=True),
    Column("at", UTCDateTime, nullable=False, index=True),
)

# Each worker process records that it is alive (for /readyz and metrics).
worker_heartbeats = Table(
    "worker_heartbeats",
    metadata,
    Column("name", String(128), primary_key=True),  # host:pid
    Column("at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime, nullable=False),
)
