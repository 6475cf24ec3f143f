"""Add OneTouch approval requests, device enrolments, device request nonces, per-application device
revocation and the record of delivery attempts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)


def _fk(table: str, column: str, target: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete="CASCADE"
    )


def upgrade() -> None:
    with op.batch_alter_table("device_seeds") as batch:
        batch.add_column(sa.Column("revoked_at", Timestamp, nullable=True))
    op.create_table(
        "approval_requests",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("public_id", sa.String(24), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("person_id", BigId, nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("details", sa.JSON(), nullable=True),
        sa.Column("hidden_details", sa.JSON(), nullable=True),
        sa.Column("logos", sa.JSON(), nullable=True),
        sa.Column("seconds_to_expire", sa.Integer(), nullable=False),
        sa.Column("expires_at", Timestamp, nullable=True),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("notified", sa.Boolean(), nullable=False),
        sa.Column("number_match", sa.String(2), nullable=True),
        sa.Column("number_choices", sa.JSON(), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column("processed_at", Timestamp, nullable=True),
        sa.Column("device_id", sa.BigInteger(), nullable=True),
        sa.Column("reason", sa.String(32), nullable=True),
        sa.Column("signed_at", sa.BigInteger(), nullable=True),
        sa.Column("device_signature", sa.Text(), nullable=True),
        sa.Column("shown_digest", sa.String(64), nullable=True),
        _fk("approval_requests", "app_id", "applications"),
        _fk("approval_requests", "person_id", "persons"),
        sa.PrimaryKeyConstraint("id", name="pk_approval_requests"),
        sa.UniqueConstraint("uuid", name="uq_approval_requests_uuid"),
    )
    op.create_index("ix_approval_requests_app_id", "approval_requests", ["app_id"])
    op.create_index(
        "ix_approval_requests_person_id_status", "approval_requests", ["person_id", "status"]
    )
    op.create_index(
        "ix_approval_requests_status_expires_at", "approval_requests", ["status", "expires_at"]
    )
    op.create_table(
        "enrollments",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("public_id", sa.String(43), nullable=False),
        sa.Column("method", sa.String(8), nullable=False),
        sa.Column("person_id", BigId, nullable=True),
        sa.Column("app_id", sa.Integer(), nullable=True),
        sa.Column("pin_digest", sa.LargeBinary(32), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("device_id", BigId, nullable=True),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.Column("activates_at", Timestamp, nullable=True),
        sa.Column("completed_at", Timestamp, nullable=True),
        _fk("enrollments", "person_id", "persons"),
        _fk("enrollments", "app_id", "applications"),
        _fk("enrollments", "device_id", "devices"),
        sa.PrimaryKeyConstraint("id", name="pk_enrollments"),
        sa.UniqueConstraint("public_id", name="uq_enrollments_public_id"),
    )
    op.create_index("ix_enrollments_status_activates_at", "enrollments", ["status", "activates_at"])
    op.create_table(
        "device_nonces",
        sa.Column("device_id", BigId, nullable=False),
        sa.Column("nonce", sa.String(64), nullable=False),
        sa.Column("at", Timestamp, nullable=False),
        _fk("device_nonces", "device_id", "devices"),
        sa.PrimaryKeyConstraint("device_id", "nonce", name="pk_device_nonces"),
    )
    op.create_index("ix_device_nonces_at", "device_nonces", ["at"])
    op.create_table(
        "delivery_attempts",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("outbox_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("provider", sa.String(32), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_delivery_attempts"),
    )
    op.create_index("ix_delivery_attempts_outbox_id", "delivery_attempts", ["outbox_id"])


def downgrade() -> None:
    for table in ("delivery_attempts", "device_nonces", "enrollments", "approval_requests"):
        op.drop_table(table)
    with op.batch_alter_table("device_seeds") as batch:
        batch.drop_column("revoked_at")
