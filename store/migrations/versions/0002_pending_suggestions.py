"""Progression decisions speak the program's vocabulary: a suggestion awaiting the therapist is 'pending'.

Revision ID: 0002
Revises: 0001
Create Date: 2026-12-02

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = "progression_decisions"
_CK = "ck_progression_decisions_status"


def _swap(old: str, new: str, allowed: str) -> None:
    with op.batch_alter_table(_TABLE) as batch:
        batch.drop_constraint(op.f(_CK), type_="check")
    op.execute(sa.text(f"UPDATE {_TABLE} SET status = :new WHERE status = :old").bindparams(new=new, old=old))
    with op.batch_alter_table(_TABLE) as batch:
        batch.create_check_constraint(op.f(_CK), f"status IN ({allowed})")


def upgrade() -> None:
    _swap("suggested", "pending", "'pending', 'accepted', 'rejected'")


def downgrade() -> None:
    _swap("pending", "suggested", "'suggested', 'accepted', 'rejected'")
