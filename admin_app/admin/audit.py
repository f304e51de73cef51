"""The change history: every entry (admins only, read-only for everyone) and each record's own."""

from __future__ import annotations

import json
from typing import Any

from flask import abort
from flask_admin import expose
from markupsafe import Markup
from sqlalchemy import select

from admin_app.admin.base import ADMIN_ONLY, ShopModelView
from admin_app.admin.formatters import date_column
from admin_app.extensions import db
from admin_app.models import AuditLog
from admin_app.services.export_specs import EXPORTS

NOBODY: tuple[str, ...] = ()


def describe_changes(changes: dict[str, Any] | None) -> Markup:
    """``field: old → new`` lines, escaped (the values are whatever people typed)."""
    if not changes:
        return Markup("")
    lines = []
    for field, change in sorted(changes.items()):
        if isinstance(change, list) and len(change) == 2:
            old, new = (json.dumps(v, ensure_ascii=False) if not isinstance(v, str) else v for v in change)
            lines.append(Markup("<b>%s</b>: %s → %s") % (field, old, new))
        else:
            lines.append(Markup("<b>%s</b>: %s") % (field, change if isinstance(change, str) else json.dumps(change)))
    return Markup("<br>").join(lines)


def changes_column(view: Any, context: Any, model: AuditLog, name: str) -> Markup:
    return describe_changes(model.changes)


class AuditLogView(ShopModelView):
    """Read-only for everyone: history that can be edited is no history."""

    read_roles = ADMIN_ONLY
    write_roles = NOBODY

    column_list = ("created_at", "actor_label", "action", "entity_type", "entity_id", "entity_label", "changes")
    column_searchable_list = EXPORTS["auditlog"].search_columns
    column_filters = EXPORTS["auditlog"].filters
    column_labels = {"created_at": "When", "actor_label": "By", "entity_type": "Type", "entity_id": "Id",
                     "entity_label": "Record"}
    column_formatters = {"created_at": date_column, "changes": changes_column}
    column_sortable_list = ("created_at", "actor_label", "action", "entity_type")
    column_default_sort = [("created_at", True), ("id", True)]
    column_details_list = column_list
    column_formatters_detail = column_formatters

    @expose("/record/<entity_type>/<entity_id>/")
    def record_history(self, entity_type: str, entity_id: str) -> Any:
        entries = db.session.scalars(
            select(AuditLog).where(AuditLog.entity_type == entity_type, AuditLog.entity_id == entity_id)
            .order_by(AuditLog.created_at.desc(), AuditLog.id.desc()).limit(500)
        ).all()
        if not entries:
            abort(404)
        return self.render("admin/record_history.html", entries=entries, entity_type=entity_type,
                           entity_id=entity_id, label=entries[0].entity_label, describe=describe_changes)


def latest_change(record: Any) -> AuditLog | None:
    """The newest history entry of ``record`` (who last changed it, and when)."""
    return db.session.scalars(
        select(AuditLog).where(AuditLog.entity_type == type(record).__name__,
                               AuditLog.entity_id == str(record.id))
        .order_by(AuditLog.id.desc()).limit(1)
    ).first()
