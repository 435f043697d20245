"""Initial schema: users, prescriptions, sessions, reps, pain reports, progression decisions.

Revision ID: 0001
Revises: 
Create Date: 2026-11-26

"""
from typing import Sequence, Union

import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision: str = '0001'
down_revision: Union[str, Sequence[str], None] = None
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
   
    op.create_table('users',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=64), nullable=False),
    sa.Column('display_name', sa.String(length=200), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=False),
    sa.Column('therapist_id', sa.Integer(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("role IN ('patient', 'therapist', 'admin')", name=op.f('ck_users_role')),
    sa.ForeignKeyConstraint(['therapist_id'], ['users.id'], name=op.f('fk_users_therapist_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('username', name=op.f('uq_users_username'))
    )
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_users_therapist_id'), ['therapist_id'], unique=False)

    op.create_table('prescriptions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('exercise', sa.String(length=32), nullable=False),
    sa.Column('side', sa.String(length=8), nullable=False),
    sa.Column('sets', sa.Integer(), nullable=False),
    sa.Column('reps', sa.Integer(), nullable=False),
    sa.Column('sessions_per_week', sa.Integer(), nullable=False),
    sa.Column('target_rom_deg', sa.Float(), nullable=True),
    sa.Column('compensation_threshold_deg', sa.Float(), nullable=False),
    sa.Column('stage', sa.String(length=32), nullable=True),
    sa.Column('hold_target_s', sa.Float(), nullable=True),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("exercise IN ('knee_raise', 'hip_extension', 'deep_squat')", name=op.f('ck_prescriptions_exercise')),
    sa.CheckConstraint("side IN ('left', 'right')", name=op.f('ck_prescriptions_side')),
    sa.CheckConstraint('sets >= 1 AND reps >= 1 AND sessions_per_week >= 0', name=op.f('ck_prescriptions_counts')),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_prescriptions_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['patient_id'], ['users.id'], name=op.f('fk_prescriptions_patient_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_prescriptions'))
    )
    with op.batch_alter_table('prescriptions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_prescriptions_patient_id_active'), ['patient_id', 'active'], unique=False)

    op.create_table('progression_decisions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('prescription_id', sa.Integer(), nullable=False),
    sa.Column('from_stage', sa.String(length=32), nullable=True),
    sa.Column('to_stage', sa.String(length=32), nullable=False),
    sa.Column('reason', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('suggested_by', sa.Integer(), nullable=True),
    sa.Column('suggested_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('decided_by', sa.Integer(), nullable=True),
    sa.Column('decided_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint("status IN ('suggested', 'accepted', 'rejected')", name=op.f('ck_progression_decisions_status')),
    sa.ForeignKeyConstraint(['decided_by'], ['users.id'], name=op.f('fk_progression_decisions_decided_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['patient_id'], ['users.id'], name=op.f('fk_progression_decisions_patient_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['prescription_id'], ['prescriptions.id'], name=op.f('fk_progression_decisions_prescription_id_prescriptions'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['suggested_by'], ['users.id'], name=op.f('fk_progression_decisions_suggested_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_progression_decisions'))
    )
    with op.batch_alter_table('progression_decisions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_progression_decisions_patient_id'), ['patient_id'], unique=False)

    op.create_table('sessions',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('prescription_id', sa.Integer(), nullable=True),
    sa.Column('exercise', sa.String(length=32), nullable=False),
    sa.Column('side', sa.String(length=8), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ended_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('status', sa.String(length=16), nullable=False),
    sa.Column('source', sa.String(length=16), nullable=False),
    sa.Column('sensors', sa.JSON(), nullable=False),
    sa.Column('calibration', sa.JSON(), nullable=False),
    sa.Column('calibration_quality', sa.String(length=16), nullable=True),
    sa.Column('threshold_deg', sa.Float(), nullable=False),
    sa.Column('stage', sa.String(length=32), nullable=True),
    sa.Column('target_rom_deg', sa.Float(), nullable=True),
    sa.Column('prescribed_sets', sa.Integer(), nullable=True),
    sa.Column('prescribed_reps', sa.Integer(), nullable=True),
    sa.Column('rep_count', sa.Integer(), nullable=False),
    sa.Column('full_rep_count', sa.Integer(), nullable=False),
    sa.Column('partial_rep_count', sa.Integer(), nullable=False),
    sa.Column('rom_deg', sa.Float(), nullable=True),
    sa.Column('mean_peak_hip_flexion_deg', sa.Float(), nullable=True),
    sa.Column('compensation_count', sa.Integer(), nullable=False),
    sa.Column('compensation_rate', sa.Float(), nullable=True),
    sa.Column('mean_rep_duration_s', sa.Float(), nullable=True),
    sa.Column('mean_hold_s', sa.Float(), nullable=True),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.Column('set_count', sa.Integer(), nullable=False),
    sa.Column('raw_path', sa.String(length=255), nullable=True),
    sa.Column('angles_path', sa.String(length=255), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint("exercise IN ('knee_raise', 'hip_extension', 'deep_squat')", name=op.f('ck_sessions_exercise')),
    sa.CheckConstraint("side IN ('left', 'right')", name=op.f('ck_sessions_side')),
    sa.CheckConstraint("source IN ('recorded', 'imported', 'simulated')", name=op.f('ck_sessions_source')),
    sa.CheckConstraint("status IN ('recording', 'complete', 'recovered')", name=op.f('ck_sessions_status')),
    sa.ForeignKeyConstraint(['patient_id'], ['users.id'], name=op.f('fk_sessions_patient_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['prescription_id'], ['prescriptions.id'], name=op.f('fk_sessions_prescription_id_prescriptions'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sessions'))
    )
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sessions_patient_id_started_at'), ['patient_id', 'started_at'], unique=False)

    op.create_table('pain_reports',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('pain_before', sa.Integer(), nullable=True),
    sa.Column('pain_after', sa.Integer(), nullable=True),
    sa.Column('note', sa.Text(), nullable=False),
    sa.Column('reported_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('pain_after IS NULL OR (pain_after >= 0 AND pain_after <= 10)', name=op.f('ck_pain_reports_after')),
    sa.CheckConstraint('pain_before IS NULL OR (pain_before >= 0 AND pain_before <= 10)', name=op.f('ck_pain_reports_before')),
    sa.ForeignKeyConstraint(['reported_by'], ['users.id'], name=op.f('fk_pain_reports_reported_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_pain_reports_session_id_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_pain_reports')),
    sa.UniqueConstraint('session_id', name=op.f('uq_pain_reports_session_id'))
    )
    op.create_table('reps',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('session_id', sa.Integer(), nullable=False),
    sa.Column('rep_index', sa.Integer(), nullable=False),
    sa.Column('start_s', sa.Float(), nullable=True),
    sa.Column('peak_s', sa.Float(), nullable=True),
    sa.Column('end_s', sa.Float(), nullable=True),
    sa.Column('peak_hip_flexion_deg', sa.Float(), nullable=True),
    sa.Column('hold_s', sa.Float(), nullable=True),
    sa.Column('partial', sa.Boolean(), nullable=False),
    sa.Column('compensation', sa.Boolean(), nullable=False),
    sa.Column('compensation_deg', sa.Float(), nullable=True),
    sa.Column('compensation_onset_hip_deg', sa.Float(), nullable=True),
    sa.Column('set_index', sa.Integer(), nullable=False),
    sa.Column('start_hip_flexion_deg', sa.Float(), nullable=True),
    sa.Column('range_deg', sa.Float(), nullable=True),
    sa.Column('pelvic_tilt_change_deg', sa.Float(), nullable=True),
    sa.Column('duration_s', sa.Float(), nullable=True),
    sa.ForeignKeyConstraint(['session_id'], ['sessions.id'], name=op.f('fk_reps_session_id_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reps')),
    sa.UniqueConstraint('session_id', 'rep_index', name=op.f('uq_reps_session_id_rep_index'))
    )


def downgrade() -> None:
    """Downgrade schema."""
   
    op.drop_table('reps')
    op.drop_table('pain_reports')
    with op.batch_alter_table('sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sessions_patient_id_started_at'))

    op.drop_table('sessions')
    with op.batch_alter_table('progression_decisions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_progression_decisions_patient_id'))

    op.drop_table('progression_decisions')
    with op.batch_alter_table('prescriptions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_prescriptions_patient_id_active'))

    op.drop_table('prescriptions')
    with op.batch_alter_table('users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_users_therapist_id'))

    op.drop_table('users')
