"""Refresh the planner's statistics after the index changes of 0003 and 0004

Without statistics for the new indexes SQLite guesses, and guesses badly: it answered a
list's "these 20 ids" query by scanning an index over every customer.

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 16:30:00

"""
from alembic import op

revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.execute("ANALYZE")


def downgrade():
    pass
