"""Stored analyses say which engine made them; reps carry the engine's confidence and its reason.

``sessions.engine_version`` (tracker.ENGINE_VERSION; NULL for analyses stored before it was
recorded — `rehab reanalyze` brings them onto the current engine), ``reps.confidence`` (0..1; NULL =
not assessed) and ``reps.low_confidence_reason`` (plain words, '' when confident).

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-12

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("engine_version", sa.String(32), nullable=True))
    with op.batch_alter_table("reps") as batch:
        batch.add_column(sa.Column("confidence", sa.Float(), nullable=True))
        batch.add_column(sa.Column("low_confidence_reason", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("reps") as batch:
        batch.drop_column("low_confidence_reason")
        batch.drop_column("confidence")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("engine_version")
