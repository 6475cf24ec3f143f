"""Create the keyring, applications with their API keys, persons, application users, activities
and the audit log.

Revision ID: 0001
Revises:
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
Timestamp = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "keyring",
        sa.Column("id", sa.String(16), nullable=False),
        sa.Column("purpose", sa.String(16), nullable=False),
        sa.Column("wrapped", sa.LargeBinary(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("retired_at", Timestamp, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_keyring"),
    )
    op.create_table(
        "applications",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("public_id", sa.String(24), nullable=False),
        sa.Column("name", sa.String(255), nullable=False),
        sa.Column("settings", sa.JSON(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_applications"),
        sa.UniqueConstraint("public_id", name="uq_applications_public_id"),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("key_hash", sa.LargeBinary(32), nullable=False),
        sa.Column("serial", sa.Integer(), nullable=False),
        sa.Column("salt", sa.LargeBinary(16), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("expires_at", Timestamp, nullable=True),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["applications.id"],
            name="fk_api_keys_app_id_applications",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_api_keys"),
        sa.UniqueConstraint("key_hash", name="uq_api_keys_key_hash"),
    )
    op.create_index("ix_api_keys_app_id", "api_keys", ["app_id"])
    op.create_table(
        "persons",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("country_code", sa.Integer(), nullable=False),
        sa.Column("national_number", sa.String(20), nullable=False),
        sa.Column("e164", sa.String(24), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_persons"),
        sa.UniqueConstraint("e164", name="uq_persons_e164"),
    )
    op.create_table(
        "app_users",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("person_id", BigId, nullable=False),
        sa.Column("public_id", sa.String(24), nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("confirmed", sa.Boolean(), nullable=False),
        sa.Column("banned", sa.Boolean(), nullable=False),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.Column("updated_at", Timestamp, nullable=False),
        sa.Column("deleted_at", Timestamp, nullable=True),
        sa.Column("purge_after", Timestamp, nullable=True),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["applications.id"],
            name="fk_app_users_app_id_applications",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name="fk_app_users_person_id_persons",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_app_users"),
        sa.UniqueConstraint("app_id", "person_id", name="uq_app_users_app_id_person_id"),
    )
    op.create_index("ix_app_users_person_id", "app_users", ["person_id"])
    op.create_index("ix_app_users_purge_after", "app_users", ["purge_after"])
    op.create_table(
        "activities",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=False),
        sa.Column("person_id", BigId, nullable=False),
        sa.Column("type", sa.String(32), nullable=False),
        sa.Column("user_ip", sa.String(64), nullable=True),
        sa.Column("data", sa.JSON(), nullable=True),
        sa.Column("created_at", Timestamp, nullable=False),
        sa.ForeignKeyConstraint(
            ["app_id"],
            ["applications.id"],
            name="fk_activities_app_id_applications",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["persons.id"],
            name="fk_activities_person_id_persons",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name="pk_activities"),
    )
    op.create_index("ix_activities_app_id_person_id", "activities", ["app_id", "person_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("at", Timestamp, nullable=False),
        sa.Column("app_id", sa.Integer(), nullable=True),
        sa.Column("person_id", sa.BigInteger(), nullable=True),
        sa.Column("event", sa.String(64), nullable=False),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_audit_log"),
    )
    op.create_index("ix_audit_log_at", "audit_log", ["at"])


def downgrade() -> None:
    op.drop_table("audit_log")
    op.drop_table("activities")
    op.drop_table("app_users")
    op.drop_table("persons")
    op.drop_table("api_keys")
    op.drop_table("applications")
    op.drop_table("keyring")
