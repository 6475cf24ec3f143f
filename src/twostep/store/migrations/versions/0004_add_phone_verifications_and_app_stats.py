"""Add phone verifications (Verify v1) and the monthly per-application statistics counters.

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)


def _app_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["app_id"], ["applications.id"], name=f"fk_{table}_app_id_applications", ondelete="CASCADE"
    )


def upgrade() -> None:
    op.create_table(
        "phone_verifications",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("uuid", sa.String(36), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("e164", sa.String(24), nullable=False),
        sa.Column("via", sa.String(4), nullable=False),
        sa.Column("locale", sa.String(8), nullable=False),
        sa.Column("digest", sa.LargeBinary(32), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=False),
        sa.Column("verified_at", Timestamp, nullable=True),
        _app_fk("phone_verifications"),
        sa.PrimaryKeyConstraint("id", name="pk_phone_verifications"),
        sa.UniqueConstraint("uuid", name="uq_phone_verifications_uuid"),
        sa.UniqueConstraint("app_id", "e164", name="uq_phone_verifications_app_id_e164"),
    )
    op.create_index("ix_phone_verifications_expires_at", "phone_verifications", ["expires_at"])
    op.create_table(
        "app_monthly_stats",
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("year", sa.Integer(), nullable=False),
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("api_calls", sa.BigInteger(), nullable=False),
        sa.Column("auths", sa.BigInteger(), nullable=False),
        sa.Column("sms", sa.BigInteger(), nullable=False),
        sa.Column("calls", sa.BigInteger(), nullable=False),
        sa.Column("users", sa.BigInteger(), nullable=False),
        _app_fk("app_monthly_stats"),
        sa.PrimaryKeyConstraint("app_id", "year", "month", name="pk_app_monthly_stats"),
    )


def downgrade() -> None:
    op.drop_table("app_monthly_stats")
    op.drop_index("ix_phone_verifications_expires_at", table_name="phone_verifications")
    op.drop_table("phone_verifications")
