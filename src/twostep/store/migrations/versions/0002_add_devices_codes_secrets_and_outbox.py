"""Add authenticator devices and their seeds, generic TOTP secrets, one-time codes, the outbox,
development messages, rate-limit hits and delivery provider configuration.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("person_id", BigId, nullable=False),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("device_type", sa.String(32), nullable=False),
        sa.Column("os_type", sa.String(32), nullable=False),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("public_key", sa.LargeBinary(32), nullable=True),
        sa.Column("push_address", sa.Text(), nullable=True),
        sa.Column("registration_method", sa.String(16), nullable=True),
        sa.Column("registration_ip", sa.String(64), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("last_sync_at", Timestamp, nullable=True),
        sa.Column("revoked_at", Timestamp, nullable=True),
        _fk("devices", "person_id", "persons"),
        sa.PrimaryKeyConstraint("id", name="pk_devices"),
        sa.UniqueConstraint("uuid", name="uq_devices_uuid"),
    )
    op.create_index("ix_devices_person_id", "devices", ["person_id"])
    op.create_table(
        "device_seeds",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("device_id", BigId, nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("seed", sa.Text(), nullable=False),
        sa.Column("last_step", sa.BigInteger(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        _fk("device_seeds", "device_id", "devices"),
        _fk("device_seeds", "app_id", "applications"),
        sa.PrimaryKeyConstraint("id", name="pk_device_seeds"),
        sa.UniqueConstraint("device_id", "app_id", name="uq_device_seeds_device_id_app_id"),
    )
    op.create_table(
        "totp_secrets",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("person_id", BigId, nullable=False),
        sa.Column("seed", sa.Text(), nullable=False),
        sa.Column("last_step", sa.BigInteger(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        _fk("totp_secrets", "app_id", "applications"),
        _fk("totp_secrets", "person_id", "persons"),
        sa.PrimaryKeyConstraint("id", name="pk_totp_secrets"),
        sa.UniqueConstraint("app_id", "person_id", name="uq_totp_secrets_app_id_person_id"),
    )
    op.create_table(
        "otp_codes",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("person_id", BigId, nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("digest", sa.LargeBinary(32), nullable=False),
        sa.Column("action", sa.String(255), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.Column("consumed_at", Timestamp, nullable=True),
        _fk("otp_codes", "app_id", "applications"),
        _fk("otp_codes", "person_id", "persons"),
        sa.PrimaryKeyConstraint("id", name="pk_otp_codes"),
    )
    op.create_index("ix_otp_codes_expires_at", "otp_codes", ["expires_at"])
    op.create_index("ix_otp_codes_app_id_person_id", "otp_codes", ["app_id", "person_id"])
    op.create_table(
        "outbox",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=True),
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", Timestamp, nullable=False),
        sa.Column("lease_until", Timestamp, nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("provider", sa.String(32), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column("delivered_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("idempotency_key", name="uq_outbox_idempotency_key"),
    )
    op.create_index("ix_outbox_status_next_attempt_at", "outbox", ["status", "next_attempt_at"])
    op.create_table(
        "dev_messages",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("channel", sa.String(8), nullable=False),
        sa.Column("recipient", sa.String(320), nullable=False),
        sa.Column("subject", sa.String(255), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("code", sa.String(16), nullable=True),
        sa.Column("idempotency_key", sa.String(64), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_dev_messages"),
        sa.UniqueConstraint("idempotency_key", name="uq_dev_messages_idempotency_key"),
    )
    op.create_index("ix_dev_messages_recipient", "dev_messages", ["recipient"])
    op.create_table(
        "rate_hits",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("bucket", sa.String(32), nullable=False),
        sa.Column("subject", sa.String(128), nullable=False),
        sa.Column("at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_rate_hits"),
    )
    op.create_index("ix_rate_hits_bucket_subject_at", "rate_hits", ["bucket", "subject", "at"])
    op.create_table(
        "provider_configs",
        sa.Column("name", sa.String(32), nullable=False),
        sa.Column("config", sa.Text(), nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_provider_configs"),
    )


def downgrade() -> None:
    for table in (
        "provider_configs",
        "rate_hits",
        "dev_messages",
        "outbox",
        "otp_codes",
        "totp_secrets",
        "device_seeds",
        "devices",
    ):
        op.drop_table(table)
