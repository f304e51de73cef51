"""users.search_key: a person's names, username and email normalised for the lists' search

"Émile" was found only by "émile", "O'Brien" not by "obrien": the search now compares a
normalised form (admin_app.core.search.normalise) of the text and of the query. Existing
rows are filled here with the same function the app keeps the column with; a b-tree index
on both databases (SQLite scans it instead of the table) and, on PostgreSQL with pg_trgm, a
trigram index that answers ``LIKE '%word%'``.

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 20:45:00

"""
import sqlalchemy as sa
from alembic import op

from admin_app.accounts.models import search_key

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

BATCH = 1000


def _fill(bind):
    users = sa.table("users", sa.column("id"), sa.column("first_name"), sa.column("last_name"),
                     sa.column("username"), sa.column("email"), sa.column("search_key"))
    last = 0
    while True:
        page = sa.select(users).where(users.c.id > last).order_by(users.c.id).limit(BATCH)
        rows = bind.execute(page).mappings().all()
        if not rows:
            return
        bind.execute(users.update().where(users.c.id == sa.bindparam("uid")).values(search_key=sa.bindparam("key")),
                     [{"uid": row["id"], "key": search_key(dict(row))} for row in rows])
        last = rows[-1]["id"]


def upgrade():
    # A plain ADD/DROP COLUMN (SQLite 3.35+ has both): a batch copy of ``users`` would drop the table
    # its rows' addresses, orders and sessions refer to.
    op.add_column('users', sa.Column('search_key', sa.String(length=300), server_default='', nullable=False))
    bind = op.get_bind()
    # The indexes before the rows are filled: built over rows this transaction has just updated,
    # PostgreSQL would keep an index unused until every older transaction ended (indcheckxmin).
    op.create_index('ix_users_search_key', 'users', ['search_key'])
    trigrams = bind.dialect.name == "postgresql" and bind.scalar(sa.text(
        "SELECT count(*) FROM pg_extension WHERE extname = 'pg_trgm'"))
    if trigrams:
        op.execute("CREATE INDEX IF NOT EXISTS ix_users_search_key_trgm ON users USING gin (search_key gin_trgm_ops)")
    _fill(bind)
    if trigrams:
        op.execute("ANALYZE users")


def downgrade():
    op.execute("DROP INDEX IF EXISTS ix_users_search_key_trgm")
    op.drop_index('ix_users_search_key', table_name='users')
    op.drop_column('users', 'search_key')
