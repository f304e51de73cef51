"""One default address per customer; history entries name the whole their record is part of

- ``uq_addresses_user_id_default``: a partial unique index (``WHERE is_default``), so a
  customer has at most one default address on SQLite and PostgreSQL. A customer who had
  several keeps the oldest (lowest id) as the default; the others are unset first.
- ``audit_log.part_of_type`` / ``part_of_id``: the whole an entry's record belongs to (an
  order item's order, an address's customer), so a whole's history shows its parts'
  entries. Existing entries of order items and addresses are filled in: from the part's
  row while it exists, else from the entry's own changes (the part's foreign key).

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 10:00:00

"""
import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

DEFAULTS = "is_default"
# Each part: its class name in the log, its table, the foreign key to its whole, the whole's class name.
PARTS = (
    ("OrderItem", "order_items", "order_id", "Order"),
    ("Address", "addresses", "user_id", "Customer"),
)


def _foreign_key_in_changes(dialect: str, key: str) -> str:
    """The part's foreign key as an entry recorded it (``{key: [old, new]}``): the new value,
    else the old one (a deleted part), as text."""
    if dialect == "postgresql":
        return f"COALESCE(changes::jsonb -> '{key}' ->> 1, changes::jsonb -> '{key}' ->> 0)"
    return (f"CAST(COALESCE(json_extract(changes, '$.{key}[1]'), json_extract(changes, '$.{key}[0]')) "
            "AS TEXT)")


def upgrade():
    op.execute(
        "UPDATE addresses SET is_default = false, version_id = version_id + 1 "
        "WHERE is_default AND id NOT IN (SELECT MIN(id) FROM addresses WHERE is_default GROUP BY user_id)"
    )
    op.create_index("uq_addresses_user_id_default", "addresses", ["user_id"], unique=True,
                    sqlite_where=sa.text(DEFAULTS), postgresql_where=sa.text(DEFAULTS))

    op.add_column("audit_log", sa.Column("part_of_type", sa.String(length=50), nullable=True))
    op.add_column("audit_log", sa.Column("part_of_id", sa.String(length=64), nullable=True))
    op.create_index("ix_audit_log_part_of_type_part_of_id", "audit_log", ["part_of_type", "part_of_id"])
    dialect = op.get_bind().dialect.name
    for part, table, foreign_key, whole in PARTS:
        # The part's id is a whole number: compare it as one, so the lookup uses its key.
        live = (f"(SELECT CAST({table}.{foreign_key} AS VARCHAR(64)) FROM {table} "
                f"WHERE {table}.id = CAST(audit_log.entity_id AS INTEGER))")
        op.execute(
            f"UPDATE audit_log SET part_of_type = '{whole}', "
            f"part_of_id = COALESCE({live}, {_foreign_key_in_changes(dialect, foreign_key)}) "
            f"WHERE entity_type = '{part}'"
        )
        op.execute(f"UPDATE audit_log SET part_of_type = NULL WHERE entity_type = '{part}' AND part_of_id IS NULL")


def downgrade():
    op.drop_index("ix_audit_log_part_of_type_part_of_id", table_name="audit_log")
    with op.batch_alter_table("audit_log") as batch_op:
        batch_op.drop_column("part_of_id")
        batch_op.drop_column("part_of_type")
    op.drop_index("uq_addresses_user_id_default", table_name="addresses")
