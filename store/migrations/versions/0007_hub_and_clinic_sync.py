"""Home hubs and the clinic: paired devices (token hashes), one-time enrolment codes, sessions
received from hubs (content hash), each hub session's delivery state, the hub's copies of the
clinic's prescriptions, and request counts for rate limiting shared by every server replica;
an index on sessions.started_at for the roster of a whole clinic.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-05

"""
from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index("ix_sessions_started_at", ["started_at"], unique=False)
    op.create_table('rate_limits',
    sa.Column('key', sa.String(length=120), nullable=False),
    sa.Column('window_start', sa.Integer(), nullable=False),
    sa.Column('count', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('key', 'window_start', name=op.f('pk_rate_limits'))
    )
    op.create_table('devices',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('revoked_by', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_devices_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['patient_id'], ['users.id'], name=op.f('fk_devices_patient_id_users'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['revoked_by'], ['users.id'], name=op.f('fk_devices_revoked_by_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_devices')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_devices_token_hash'))
    )
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_devices_patient_id'), ['patient_id'], unique=False)

    op.create_table('enrolment_codes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('patient_id', sa.Integer(), nullable=False),
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('created_by', sa.Integer(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('expires_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('used_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['created_by'], ['users.id'], name=op.f('fk_enrolment_codes_created_by_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_enrolment_codes_device_id_devices'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['patient_id'], ['users.id'], name=op.f('fk_enrolment_codes_patient_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_enrolment_codes')),
    sa.UniqueConstraint('code_hash', name=op.f('uq_enrolment_codes_code_hash'))
    )
    with op.batch_alter_table('enrolment_codes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_enrolment_codes_patient_id'), ['patient_id'], unique=False)

    op.create_table('plan_links',
    sa.Column('clinic_prescription_id', sa.Integer(), nullable=False),
    sa.Column('prescription_id', sa.Integer(), nullable=False),
    sa.ForeignKeyConstraint(['prescription_id'], ['prescriptions.id'], name=op.f('fk_plan_links_prescription_id_prescriptions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('clinic_prescription_id', name=op.f('pk_plan_links')),
    sa.UniqueConstraint('prescription_id', name=op.f('uq_plan_links_prescription_id'))
    )
    op.create_table('received_sessions',
    sa.Column('uid', sa.String(length=64), nullable=False),
    sa.Column('device_id', sa.Integer(), nullable=True),
    sa.Column('content_sha256', sa.String(length=64), nullable=False),
    sa.Column('received_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['device_id'], ['devices.id'], name=op.f('fk_received_sessions_device_id_devices'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['uid'], ['sessions.uid'], name=op.f('fk_received_sessions_uid_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('uid', name=op.f('pk_received_sessions'))
    )
    op.create_table('session_outbox',
    sa.Column('uid', sa.String(length=64), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('last_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('next_attempt_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('content_sha256', sa.String(length=64), nullable=True),
    sa.Column('acknowledged_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('clinic_session_id', sa.Integer(), nullable=True),
    sa.ForeignKeyConstraint(['uid'], ['sessions.uid'], name=op.f('fk_session_outbox_uid_sessions'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('uid', name=op.f('pk_session_outbox'))
    )
    with op.batch_alter_table('session_outbox', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_session_outbox_acknowledged_at'), ['acknowledged_at'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('session_outbox', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_session_outbox_acknowledged_at'))

    op.drop_table('session_outbox')
    op.drop_table('received_sessions')
    op.drop_table('plan_links')
    with op.batch_alter_table('enrolment_codes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_enrolment_codes_patient_id'))

    op.drop_table('enrolment_codes')
    with op.batch_alter_table('devices', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_devices_patient_id'))

    op.drop_table('devices')
    op.drop_table('rate_limits')
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_started_at")
