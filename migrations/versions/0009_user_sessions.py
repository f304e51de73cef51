"""Sign-in sessions kept on the server: ``user_sessions``, replacing ``session_token_version``

A signed session cookie alone kept working after sign-out until it expired. Each sign-in
now has a row (the SHA-256 of the key the cookie holds); sign-out deletes it, and so does a
password change or deactivation, for all of the employee's rows. The per-employee version
number that used to end sessions is no longer needed: everyone signs in again once.

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('user_sessions',
    sa.Column('id', sa.String(length=64), nullable=False),
    sa.Column('user_id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('last_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('ip_address', sa.String(length=45), nullable=True),
    sa.Column('user_agent', sa.String(length=200), nullable=True),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_user_sessions_user_id_users'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_user_sessions'))
    )
    op.create_index(op.f('ix_user_sessions_last_seen_at'), 'user_sessions', ['last_seen_at'], unique=False)
    op.create_index(op.f('ix_user_sessions_user_id'), 'user_sessions', ['user_id'], unique=False)
    # A plain ALTER TABLE (SQLite 3.35+ has DROP COLUMN): batch mode would rebuild ``users``
    # and lose its expression indexes, which SQLite's reflection cannot read.
    op.drop_column('users', 'session_token_version')


def downgrade():
    op.add_column('users', sa.Column('session_token_version', sa.Integer(), nullable=True))
    op.drop_index(op.f('ix_user_sessions_user_id'), table_name='user_sessions')
    op.drop_index(op.f('ix_user_sessions_last_seen_at'), table_name='user_sessions')
    op.drop_table('user_sessions')
