"""Add twostep_advance_device_step() on PostgreSQL: the time-step compare-and-set of a device
seed that raises a serialization failure when the step is no longer ahead, instead of reporting
that it touched no row. A verification can then hold the update back and send it with its
audit record and COMMIT (store/batching.py), one round trip fewer, and a concurrent verification
that got there first fails the transaction, which is run again (store/db.py). Expand only: a
new function nothing of the previous release calls. SQLite has no need of it (its writers are
serialized, so what a verification reads of a seed is current).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-26
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_CREATE = """
CREATE OR REPLACE FUNCTION twostep_advance_device_step(seed_id bigint, new_step bigint)
RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    UPDATE device_seeds SET last_step = new_step WHERE id = seed_id AND last_step < new_step;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'time-step % of device seed % is no longer ahead', new_step, seed_id
            USING ERRCODE = 'serialization_failure';
    END IF;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_CREATE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS twostep_advance_device_step(bigint, bigint)")
