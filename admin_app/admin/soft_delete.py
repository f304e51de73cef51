"""Soft delete in the back office: delete hides, restore brings back, purge removes.

Used by :class:`~admin_app.admin.base.ShopModelView` for every model with the
``SoftDeleteMixin`` (a ``deleted_at`` column): lists, counts, searches, exports, detail and
edit pages and ajax look-ups leave deleted rows out unless the "Deleted" filter asks for
them; deleting sets ``deleted_at``; restoring clears it; purging (admins only) removes
deleted rows for good where nothing else still refers to them.
"""

from __future__ import annotations

from typing import Any

from flask_admin.babel import lazy_gettext
from flask_admin.contrib.sqla.filters import BaseSQLAFilter

LIVE_ONLY = "deleted_at IS NULL"


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


def live_only_lookup(model: Any, name: str, options: Any) -> Any:
    """``form_ajax_refs`` options that leave deleted rows out of the suggestions."""
    if not isinstance(options, dict):
        return options
    attribute = getattr(model, name, None)
    target = attribute.property.mapper.class_ if attribute is not None and hasattr(attribute, "property") else None
    if target is None or not has_soft_delete(target):
        return options
    return {**options, "filters": [*options.get("filters", []), LIVE_ONLY]}


def live_only_refs(model: Any, refs: dict[str, Any] | None) -> dict[str, Any] | None:
    if not refs:
        return refs
    return {name: live_only_lookup(model, name, options) for name, options in refs.items()}


def live_only_inline(inline_models: Any) -> Any:
    if not inline_models:
        return inline_models
    adjusted = []
    for entry in inline_models:
        if isinstance(entry, tuple) and isinstance(entry[1], dict):
            model, options = entry
            options = {**options, "form_ajax_refs": live_only_refs(model, options.get("form_ajax_refs"))}
            adjusted.append((model, options))
        else:
            adjusted.append(entry)
    return adjusted
