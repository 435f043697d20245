"""The patient's program, visible: sensor-checked sets, the patient's difficulty answer, at-home
assessments, progression steps with their evidence, and the therapist's N weeks before mobility.

- sessions: ``sensor_issues`` (JSON list, tracker/sanity.py), ``sensor_flagged`` (kept but left out
  of trends and the roster), ``assessment_id`` (a set done in an assessment, not training);
- pain_reports: ``difficulty`` ("too_easy" | "about_right" | "too_hard");
- progression_decisions: ``kind``, ``from_/to_target_rom_deg``, ``evidence`` (JSON);
- assessments: answers, result (program.ScreeningResult as JSON), status, review;
- patient_programs: ``mobility_after_weeks`` per patient.

Revision ID: 0006
Revises: 0005 (the task's "0003"; chained after harden's 0005 once merged into this branch)
Create Date: 2026-12-06

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "assessments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("side", sa.String(length=8), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("result", sa.JSON(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("completed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("reviewed_by", sa.Integer(), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint("status IN ('in_progress', 'complete', 'reviewed')", name=op.f("ck_assessments_status")),
        sa.CheckConstraint("side IN ('left', 'right')", name=op.f("ck_assessments_side")),
        sa.ForeignKeyConstraint(["patient_id"], ["users.id"], name=op.f("fk_assessments_patient_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["reviewed_by"], ["users.id"], name=op.f("fk_assessments_reviewed_by_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_assessments")),
    )
    with op.batch_alter_table("assessments") as batch:
        batch.create_index(batch.f("ix_assessments_patient_id"), ["patient_id"], unique=False)
    op.create_table(
        "patient_programs",
        sa.Column("patient_id", sa.Integer(), nullable=False),
        sa.Column("mobility_after_weeks", sa.Integer(), nullable=False),
        sa.Column("updated_by", sa.Integer(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("mobility_after_weeks >= 0 AND mobility_after_weeks <= 52",
                           name=op.f("ck_patient_programs_weeks")),
        sa.ForeignKeyConstraint(["patient_id"], ["users.id"], name=op.f("fk_patient_programs_patient_id_users"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["updated_by"], ["users.id"], name=op.f("fk_patient_programs_updated_by_users"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("patient_id", name=op.f("pk_patient_programs")),
    )
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("sensor_issues", sa.JSON(), nullable=True))
        batch.add_column(sa.Column("sensor_flagged", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("assessment_id", sa.Integer(), nullable=True))
        batch.create_index(batch.f("ix_sessions_assessment_id"), ["assessment_id"], unique=False)
        batch.create_foreign_key(batch.f("fk_sessions_assessment_id_assessments"), "assessments",
                                 ["assessment_id"], ["id"], ondelete="SET NULL")
    with op.batch_alter_table("pain_reports") as batch:
        batch.add_column(sa.Column("difficulty", sa.String(length=16), nullable=True))
        batch.create_check_constraint(
            op.f("ck_pain_reports_difficulty"),
            "difficulty IS NULL OR difficulty IN ('too_easy', 'about_right', 'too_hard')",
        )
    with op.batch_alter_table("progression_decisions") as batch:
        batch.add_column(sa.Column("kind", sa.String(length=16), nullable=False, server_default="stage"))
        batch.add_column(sa.Column("from_target_rom_deg", sa.Float(), nullable=True))
        batch.add_column(sa.Column("to_target_rom_deg", sa.Float(), nullable=True))
        batch.add_column(sa.Column("evidence", sa.JSON(), nullable=True))
        batch.create_check_constraint(op.f("ck_progression_decisions_kind"), "kind IN ('stage', 'target_rom')")


def downgrade() -> None:
    with op.batch_alter_table("progression_decisions") as batch:
        batch.drop_constraint(op.f("ck_progression_decisions_kind"), type_="check")
        batch.drop_column("evidence")
        batch.drop_column("to_target_rom_deg")
        batch.drop_column("from_target_rom_deg")
        batch.drop_column("kind")
    with op.batch_alter_table("pain_reports") as batch:
        batch.drop_constraint(op.f("ck_pain_reports_difficulty"), type_="check")
        batch.drop_column("difficulty")
    with op.batch_alter_table("sessions") as batch:
        batch.drop_constraint(batch.f("fk_sessions_assessment_id_assessments"), type_="foreignkey")
        batch.drop_index(batch.f("ix_sessions_assessment_id"))
        batch.drop_column("assessment_id")
        batch.drop_column("sensor_flagged")
        batch.drop_column("sensor_issues")
    op.drop_table("patient_programs")
    with op.batch_alter_table("assessments") as batch:
        batch.drop_index(batch.f("ix_assessments_patient_id"))
    op.drop_table("assessments")
