"""orders.items_subtotal: the stored sum of each order's items

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 15:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.add_column(sa.Column('items_subtotal', sa.Numeric(precision=12, scale=2), server_default='0',
                                      nullable=False))
    # Existing orders: add up their items once; from now on the app keeps it current.
    op.execute(
        "UPDATE orders SET items_subtotal = COALESCE("
        "(SELECT SUM(order_items.price * order_items.quantity) FROM order_items "
        "WHERE order_items.order_id = orders.id), 0)"
    )


def downgrade():
    with op.batch_alter_table('orders', schema=None) as batch_op:
        batch_op.drop_column('items_subtotal')
