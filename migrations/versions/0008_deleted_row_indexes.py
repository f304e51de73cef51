"""Indexes of the deleted rows in list order, for the lists' "Deleted only" filter

The trash of a big list walked every row in sort order looking for deleted ones (84 ms
for orders at bench scale); a partial index ``WHERE deleted_at IS NOT NULL`` holds just
those, so the filtered list reads a few index entries. Same columns as the live-row
indexes of 0006.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 18:50:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

DELETED = "deleted_at IS NOT NULL"
INDEXES = (
    ("ix_categories_deleted_name", "categories", ["name"]),
    ("ix_comments_deleted_created_at", "comments", ["created_at", "id"]),
    ("ix_orders_deleted_order_date", "orders", ["order_date", "id"]),
    ("ix_posts_deleted_created_at", "posts", ["created_at", "id"]),
    ("ix_products_deleted_updated_at", "products", ["updated_at", "id"]),
    ("ix_users_type_deleted_created_at", "users", ["type", "created_at", "id"]),
)


def upgrade():
    for name, table, columns in INDEXES:
        op.create_index(name, table, [*columns, "deleted_at"], unique=False,
                        sqlite_where=sa.text(DELETED), postgresql_where=sa.text(DELETED))


def downgrade():
    for name, table, _columns in INDEXES:
        op.drop_index(name, table_name=table)
