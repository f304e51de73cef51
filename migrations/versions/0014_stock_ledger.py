"""The stock ledger: ``stock_movements``, one row per change to a product's stock.

``products.stock`` is from now on the sum of its movements: each existing product gets an
opening-balance movement of the stock it has (none for a product with 0).

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 23:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0014'
down_revision = '0013'
branch_labels = None
depends_on = None

REASONS = ("opening_balance", "order_placed", "order_changed", "order_cancelled", "order_deleted",
           "order_restored", "received", "correction", "import")


def upgrade():
    op.create_table('stock_movements',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('product_id', sa.Integer(), nullable=False),
    sa.Column('quantity', sa.Integer(), nullable=False),
    sa.Column('balance', sa.Integer(), nullable=False),
    sa.Column('reason', sa.String(length=20), nullable=False),
    sa.Column('order_id', sa.Integer(), nullable=True),
    sa.Column('order_number', sa.String(length=20), nullable=True),
    sa.Column('actor_id', sa.Integer(), nullable=True),
    sa.Column('actor_label', sa.String(length=80), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('note', sa.Text(), nullable=True),
    sa.CheckConstraint('quantity <> 0', name=op.f('ck_stock_movements_quantity_not_zero')),
    sa.CheckConstraint('balance >= 0', name=op.f('ck_stock_movements_balance_non_negative')),
    sa.CheckConstraint(f'reason IN {REASONS!r}', name=op.f('ck_stock_movements_reason_allowed')),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_stock_movements_actor_id_users'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['order_id'], ['orders.id'], name=op.f('fk_stock_movements_order_id_orders'),
                            ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['product_id'], ['products.id'], name=op.f('fk_stock_movements_product_id_products'),
                            ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_stock_movements'))
    )
    op.create_index(op.f('ix_stock_movements_actor_id'), 'stock_movements', ['actor_id'], unique=False)
    op.create_index(op.f('ix_stock_movements_order_id'), 'stock_movements', ['order_id'], unique=False)
    op.create_index('ix_stock_movements_product_id_created_at', 'stock_movements',
                    ['product_id', 'created_at', 'id'], unique=False)
    op.execute("INSERT INTO stock_movements (product_id, quantity, balance, reason, actor_label, created_at) "
               "SELECT id, stock, stock, 'opening_balance', 'system', CURRENT_TIMESTAMP FROM products "
               "WHERE stock <> 0")


def downgrade():
    op.drop_index('ix_stock_movements_product_id_created_at', table_name='stock_movements')
    op.drop_index(op.f('ix_stock_movements_order_id'), table_name='stock_movements')
    op.drop_index(op.f('ix_stock_movements_actor_id'), table_name='stock_movements')
    op.drop_table('stock_movements')
