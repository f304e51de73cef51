"""The export definitions of the change history: one per export, used by the views
(their endpoints) and ``manage.py export``."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from admin_app.audit.models import AuditLog
from admin_app.core.export import ExportSpec
from admin_app.core.export_specs import NEWEST_FIRST, col, register_exports

EXPORTS = register_exports({
    # The change history (admins only in the back office); secrets never reach it. The
    # changes are the JSON text as stored (keys sorted, not ASCII-escaped).
    "auditlog": ExportSpec(
        model=AuditLog, title="history",
        columns=(
            col(_l("ID"), "id", "int"), col(_l("When"), "created_at", "datetime"), col(_l("By"), "actor_label"),
            col(_l("Action"), "action"), col(_l("Type"), "entity_type"), col(_l("Record id"), "entity_id"),
            col(_l("Record"), "entity_label"), col(_l("Changes"), "changes"),
        ),
        search_columns=("entity_id", "entity_label"),
        filters=("entity_type", "actor_label", "action", "created_at"),
        default_sort=NEWEST_FIRST,
    ),
})
