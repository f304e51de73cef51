"""Soft delete in the back office: delete puts in the trash, restore brings back, purge removes.

Used by :class:`~admin_app.core.views.ShopModelView` for every model with the
``SoftDeleteMixin``. The trash rule itself (rows in the trash left out of every read) is the
models' (``core.soft_delete``); the back office adds the "Deleted" filter, the list's one
way to see the trash, and the restore and purge pages (``core.trash``). People set the filter
with the list's Live / In the trash / All switch (``core.quick_filters``); it stays registered
(its URLs and exports work) but is not offered under "Add filter" (``ShopModelView.render``).
"""

from __future__ import annotations

from typing import Any

from flask_admin.contrib.sqla.filters import BaseSQLAFilter
from flask_babel import lazy_gettext as _l

from admin_app.core import adapter
from admin_app.core.models import SoftDeleteMixin


class DeletedFilter(BaseSQLAFilter):
    """The "Deleted" filter: show only deleted rows, or every row (the list's Live / In the
    trash / All switch sets it, core.quick_filters)."""

    ONLY, ALL = "only", "all"

    def __init__(self, column: Any) -> None:
        super().__init__(column, _l("Deleted"), options=((self.ONLY, _l("In the trash")), (self.ALL, _l("All"))))

    def apply(self, query: Any, value: Any, alias: Any = None) -> Any:
        if value == self.ONLY:
            return query.filter(self.get_column(alias).is_not(None))
        return query

    def operation(self) -> str:
        return str(_l("show"))

    def validate(self, value: Any) -> bool:
        return value in (self.ONLY, self.ALL)


def has_soft_delete(model: Any) -> bool:
    return isinstance(model, type) and issubclass(model, SoftDeleteMixin)


def shows_deleted(view: Any, filters: Any) -> str | None:
    """The Deleted filter's value among a list's active ``filters`` ((index, name, value)
    triples), or None when the list shows live rows only."""
    view_filters = adapter.active_filters(view)
    for index, _name, value in filters or ():
        if index < len(view_filters) and isinstance(view_filters[index], DeletedFilter):
            return str(value)
    return None
