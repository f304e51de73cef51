"""Export jobs: a list's big export runs on the task queue; the row tracks its progress,
heartbeat, file and error (the Exports page).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 23:30:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0015'
down_revision = '0014'
branch_labels = None
depends_on = None

STATUSES = ("queued", "running", "done", "failed", "cancelled", "expired")


def upgrade():
    op.create_table('export_jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('username', sa.String(length=80), nullable=False),
    sa.Column('endpoint', sa.String(length=50), nullable=False),
    sa.Column('entity_label', sa.String(length=100), nullable=False),
    sa.Column('export_type', sa.String(length=10), nullable=False),
    sa.Column('query', sa.Text(), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('locale', sa.String(length=10), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('cancel_requested', sa.Boolean(), nullable=False),
    sa.Column('rows_done', sa.Integer(), nullable=False),
    sa.Column('rows_total', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('file_name', sa.String(length=200), nullable=True),
    sa.Column('file_size', sa.BigInteger(), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('started_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('heartbeat_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('seen_at', sa.DateTime(timezone=True), nullable=True),
    sa.CheckConstraint(f'status IN {STATUSES!r}', name=op.f('ck_export_jobs_status_allowed')),
    sa.CheckConstraint("export_type IN ('csv', 'xlsx')", name=op.f('ck_export_jobs_export_type_allowed')),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_export_jobs_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_export_jobs'))
    )
    op.create_index(op.f('ix_export_jobs_user_id'), 'export_jobs', ['user_id'], unique=False)
    op.create_index('ix_export_jobs_status_heartbeat_at', 'export_jobs', ['status', 'heartbeat_at'], unique=False)


def downgrade():
    op.drop_index('ix_export_jobs_status_heartbeat_at', table_name='export_jobs')
    op.drop_index(op.f('ix_export_jobs_user_id'), table_name='export_jobs')
    op.drop_table('export_jobs')
