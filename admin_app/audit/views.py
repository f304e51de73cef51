"""The change history: every entry (admins only, read-only for everyone) and each record's own."""

from __future__ import annotations

import json
from typing import Any

from flask import abort
from flask_admin import expose
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from markupsafe import Markup

from admin_app.audit.exports import EXPORTS
from admin_app.audit.models import AuditLog
from admin_app.audit.services import history_of
from admin_app.core.formatters import date_column
from admin_app.core.i18n import format_datetime
from admin_app.core.views import ADMIN_ONLY, LATEST_CHANGE_DESCRIBERS, ShopModelView, record_kind
from admin_app.extensions import db

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
    column_labels = {"created_at": _l("When"), "actor_label": _l("By"), "action": _l("Action"),
                     "entity_type": _l("Type"), "entity_id": _l("Id"), "entity_label": _l("Record"),
                     "changes": _l("Changes")}
    column_formatters = {"created_at": date_column, "changes": changes_column}
    column_sortable_list = ("created_at", "actor_label", "action", "entity_type")
    column_default_sort = [("created_at", True), ("id", True)]
    column_details_list = column_list
    column_formatters_detail = column_formatters

    @expose("/record/<entity_type>/<entity_id>/")
    def record_history(self, entity_type: str, entity_id: str) -> Any:
        """A record's history; a whole's (an order, a customer) shows its parts' entries
        (items, addresses) interleaved with its own, each naming its record."""
        entries = db.session.scalars(history_of(entity_type, entity_id).limit(500)).all()
        if not entries:
            abort(404)
        own = next((e for e in entries if (e.entity_type, e.entity_id) == (entity_type, entity_id)), entries[0])
        return self.render("admin/record_history.html", entries=entries, entity_type=entity_type,
                           entity_id=entity_id, label=own.entity_label, describe=describe_changes,
                           record_name=record_name, kind=record_kind)


def record_name(entry: AuditLog) -> str:
    """"Order item 2 × Desk lamp": an entry's record, as a history of a whole names its parts."""
    return f"{record_kind(entry.entity_type)} {entry.entity_label or '#' + str(entry.entity_id)}"


def latest_change(record: Any) -> AuditLog | None:
    """The newest history entry of ``record`` or, for a whole, of one of its parts (who last
    changed it, what and when)."""
    return db.session.scalars(history_of(type(record).__name__, str(record.id)).limit(1)).first()


# How a whole's stale-edit message words a change to one of its parts.
PART_ACTIONS = {"create": _l("added"), "delete": _l("removed"), "purge": _l("removed"), "soft_delete": _l("deleted"),
                "restore": _l("restored")}


def describe_change(entry: AuditLog, record: Any) -> str:
    """What an entry changed, in a few words: "notes, shipping_fee" for the record itself,
    "Order item 2 × Lamp: quantity" or "Address Main St 1, ... added" for one of its parts."""
    fields = ", ".join(sorted(entry.changes or {}))
    if (entry.entity_type, entry.entity_id) == (type(record).__name__, str(record.id)):
        return fields or entry.action
    if entry.action in PART_ACTIONS:
        return f"{record_name(entry)} {PART_ACTIONS[entry.action]}"
    return f"{record_name(entry)}: {fields}" if fields else record_name(entry)


def latest_change_note(record: Any) -> str:
    """" by <who> at <when> (<what>)" for a stale edit's message, or "" without history (the
    time in the employee's zone and format)."""
    change = latest_change(record)
    if change is None:
        return ""
    return " " + _("by %(who)s at %(when)s (%(what)s)", who=change.actor_label,
                   when=format_datetime(change.created_at), what=describe_change(change, record))


LATEST_CHANGE_DESCRIBERS.append(latest_change_note)
