"""audit log and optimistic-locking version columns

Adds the ``audit_log`` table (change history written by ``admin_app.audit.services``) and a
``version_id`` column (``VersionedMixin``) to every editable table. Existing rows start at
version 1 through the server default.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 15:06:16.578337

"""
import sqlalchemy as sa
from alembic import op

# revision identifiers, used by Alembic.
revision = '0002'
down_revision = '0001'
branch_labels = None
depends_on = None

VERSIONED_TABLES = ('addresses', 'cart_items', 'categories', 'comments', 'order_items', 'orders',
                    'posts', 'products', 'tags', 'users')

# The case-insensitive unique indexes from 0001. SQLite cannot reflect expression indexes, so
# a batch operation that rebuilds one of these tables (dropping a column does) silently loses
# them; they are put back after the rebuild.
EXPRESSION_INDEXES = (
    ('uq_users_username_lower', 'users', 'lower(username)'),
    ('uq_users_email_lower', 'users', 'lower(email)'),
    ('uq_categories_name_lower', 'categories', 'lower(name)'),
    ('uq_tags_name_lower', 'tags', 'lower(name)'),
)


def upgrade():
    op.create_table('audit_log',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=80), nullable=False),
    sa.Column('action', sa.String(length=50), nullable=False),
    sa.Column('entity_type', sa.String(length=50), nullable=False),
    sa.Column('entity_id', sa.String(length=64), nullable=True),
    sa.Column('entity_label', sa.String(length=200), nullable=True),
    sa.Column('changes', sa.Text(), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_audit_log_actor_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_log'))
    )
    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_audit_log_action'), ['action'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_actor_id'), ['actor_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_audit_log_created_at'), ['created_at'], unique=False)
        batch_op.create_index('ix_audit_log_entity_type_entity_id', ['entity_type', 'entity_id'], unique=False)

    # Adding a column is a plain ALTER TABLE on both databases (no table rebuild on SQLite);
    # the server default gives existing rows version 1.
    for table in VERSIONED_TABLES:
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.add_column(sa.Column('version_id', sa.Integer(), server_default='1', nullable=False))


def downgrade():
    for table in reversed(VERSIONED_TABLES):
        with op.batch_alter_table(table, schema=None) as batch_op:
            batch_op.drop_column('version_id')
    for name, table, expression in EXPRESSION_INDEXES:
        # A no-op on PostgreSQL, where no table was rebuilt.
        op.create_index(name, table, [sa.text(expression)], unique=True, if_not_exists=True)

    with op.batch_alter_table('audit_log', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_log_entity_type_entity_id')
        batch_op.drop_index(batch_op.f('ix_audit_log_created_at'))
        batch_op.drop_index(batch_op.f('ix_audit_log_actor_id'))
        batch_op.drop_index(batch_op.f('ix_audit_log_action'))

    op.drop_table('audit_log')
