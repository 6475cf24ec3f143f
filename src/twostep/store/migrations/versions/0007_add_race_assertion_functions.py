"""Add two PostgreSQL functions that turn a lost race into a serialization failure:
twostep_advance_device_step() (a device seed's time-step compare-and-set) and
twostep_remember_nonce() (a signed device request's nonce, used once). Each fails where the plain
statement would touch no row. A transaction can then hold them back and send them with its later
statements or its COMMIT (store/batching.py), saving round trips, having decided from what it
read that they will succeed; a concurrent transaction that got there first fails it instead, and
it is run again (store/db.py), reading what the other committed. Expand only: new functions that
nothing of the previous release calls. SQLite needs neither (its writers are serialized, so what
a transaction reads is current).

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

_ADVANCE_DEVICE_STEP = """
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

_REMEMBER_NONCE = """
CREATE OR REPLACE FUNCTION twostep_remember_nonce(
    for_device bigint, used_nonce varchar, used_at timestamptz
) RETURNS void LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO device_nonces (device_id, nonce, at) VALUES (for_device, used_nonce, used_at)
        ON CONFLICT DO NOTHING;
    IF NOT FOUND THEN
        RAISE EXCEPTION 'device % used this nonce already', for_device
            USING ERRCODE = 'serialization_failure';
    END IF;
END
$$
"""


def upgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_ADVANCE_DEVICE_STEP)
        op.execute(_REMEMBER_NONCE)


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP FUNCTION IF EXISTS twostep_remember_nonce(bigint, varchar, timestamptz)")
        op.execute("DROP FUNCTION IF EXISTS twostep_advance_device_step(bigint, bigint)")
