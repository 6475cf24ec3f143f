"""Add webhooks, the dashboard credentials that manage them, nonces of signed dashboard requests,
and worker heartbeats.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
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
        "dashboard_keys",
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("access_key", sa.Text(), nullable=False),
        sa.Column("signing_key", sa.Text(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("rotated_at", Timestamp, nullable=True),
        _app_fk("dashboard_keys"),
        sa.PrimaryKeyConstraint("app_id", name="pk_dashboard_keys"),
    )
    op.create_table(
        "webhooks",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("public_id", sa.String(34), nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", sa.JSON(), nullable=False),
        sa.Column("signing_key", sa.Text(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        _app_fk("webhooks"),
        sa.PrimaryKeyConstraint("id", name="pk_webhooks"),
        sa.UniqueConstraint("public_id", name="uq_webhooks_public_id"),
    )
    op.create_index("ix_webhooks_app_id", "webhooks", ["app_id"])
    op.create_table(
        "api_nonces",
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("nonce", sa.String(128), nullable=False),
        sa.Column("at", Timestamp, nullable=False),
        _app_fk("api_nonces"),
        sa.PrimaryKeyConstraint("app_id", "nonce", name="pk_api_nonces"),
    )
    op.create_index("ix_api_nonces_at", "api_nonces", ["at"])
    op.create_table(
        "worker_heartbeats",
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("started_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("name", name="pk_worker_heartbeats"),
    )


def downgrade() -> None:
    for table in ("worker_heartbeats", "api_nonces", "webhooks", "dashboard_keys"):
        op.drop_table(table)
