"""users.search_key: letters NFKD leaves whole written plainly ("lodz" finds "Łódź")

The normalised form (admin_app.core.search.normalise) now also writes ł, ø, đ, æ, œ, þ, ð
and ı as l, o, d, ae, oe, th, d and i, for the stored keys and the queries alike. Existing
keys are recomputed here, in batches, with the same function the app keeps the column with;
only rows whose key changes are written. Downgrading writes them back in 0012's form (that
rule, frozen below).

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 10:00:00

"""
import unicodedata

import sqlalchemy as sa
from alembic import op

from admin_app.accounts.models import search_key

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

BATCH = 1000
FIELDS = ("first_name", "last_name", "username", "email")


def _key_0012(row):
    """``search_key`` as 0012 wrote it: NFKD, no combining marks, case-folded, letters, digits, spaces."""
    decomposed = unicodedata.normalize("NFKD", " ".join(row[name] for name in FIELDS if row[name]))
    folded = "".join(c for c in decomposed if not unicodedata.combining(c)).casefold()
    return " ".join("".join(c for c in folded if c.isalnum() or c.isspace()).split())


def _refill(key_of):
    bind = op.get_bind()
    users = sa.table("users", sa.column("id"), *(sa.column(name) for name in FIELDS), sa.column("search_key"))
    update = users.update().where(users.c.id == sa.bindparam("uid")).values(search_key=sa.bindparam("key"))
    last = 0
    while True:
        page = sa.select(users).where(users.c.id > last).order_by(users.c.id).limit(BATCH)
        rows = bind.execute(page).mappings().all()
        if not rows:
            return
        changed = [{"uid": row["id"], "key": key} for row in rows if (key := key_of(dict(row))) != row["search_key"]]
        if changed:
            bind.execute(update, changed)
        last = rows[-1]["id"]


def upgrade():
    _refill(search_key)


def downgrade():
    _refill(_key_0012)
