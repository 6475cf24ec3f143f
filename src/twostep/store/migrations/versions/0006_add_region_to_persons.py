"""Add persons.region: the number's region (ISO 3166, or "001" for non-geographic codes),
found once when the person is created instead of on every message (finding it costs ~50 µs for
+1 numbers, which twenty-odd regions share). Expand only: nullable, and rows without it (created
before, or by a node of the previous release during a rolling upgrade) have it found when
needed, as before.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-26
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("persons") as batch:
        batch.add_column(sa.Column("region", sa.String(3), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("persons") as batch:
        batch.drop_column("region")
