"""Soft delete in the back office: delete hides, restore brings back, purge removes.

Used by :class:`~admin_app.admin.base.ShopModelView` for every model with the
``SoftDeleteMixin`` (a ``deleted_at`` column): lists, counts, searches, exports, detail and
edit pages leave deleted rows out unless the "Deleted" filter asks for them (ajax
look-ups too: see ``validators.LookupLoader``); deleting sets ``deleted_at``; restoring clears it; purging (admins
only) removes deleted rows for good where nothing else still refers to them.
"""

from __future__ import annotations

from typing import Any

from flask_admin.babel import lazy_gettext
from flask_admin.contrib.sqla.filters import BaseSQLAFilter


class DeletedFilter(BaseSQLAFilter):
    """The "Deleted" filter: show only deleted rows, or every row."""

    ONLY, ALL = "only", "all"

    def __init__(self, column: Any) -> None:
        super().__init__(column, "Deleted", options=((self.ONLY, "Deleted only"), (self.ALL, "All, with deleted")))

    def apply(self, query: Any, value: Any, alias: Any = None) -> Any:
        if value == self.ONLY:
            return query.filter(self.get_column(alias).is_not(None))
        return query

    def operation(self) -> str:
        return str(lazy_gettext("show"))

    def validate(self, value: Any) -> bool:
        return value in (self.ONLY, self.ALL)


def has_soft_delete(model: Any) -> bool:
    return hasattr(model, "deleted_at") and hasattr(model, "soft_delete")
