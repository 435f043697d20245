"""Every session has a uid, unique: recovery and hub → clinic sync store a recording exactly once.

Existing rows get a random uid, or their recording's uid where the recorder noted it in
``sensors.recording``.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05

"""
import json
import uuid
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("uid", sa.String(64), nullable=True))
    conn = op.get_bind()
    seen: set[str] = set()
    for sid, sensors in conn.execute(sa.text("SELECT id, sensors FROM sessions ORDER BY id")).all():
        if isinstance(sensors, str):
            sensors = json.loads(sensors or "null")
        uid = sensors.get("recording") if isinstance(sensors, dict) else None
        if not isinstance(uid, str) or not uid or uid in seen:
            uid = uuid.uuid4().hex
        seen.add(uid)
        conn.execute(sa.text("UPDATE sessions SET uid = :uid WHERE id = :id").bindparams(uid=uid, id=sid))
    with op.batch_alter_table("sessions") as batch:
        batch.alter_column("uid", existing_type=sa.String(64), nullable=False)
        batch.create_unique_constraint(op.f("uq_sessions_uid"), ["uid"])


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_constraint(op.f("uq_sessions_uid"), type_="unique")
        batch.drop_column("uid")
