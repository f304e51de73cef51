"""The export definitions of the change history: one per export, used by the views
(their endpoints) and ``manage.py export``."""

from __future__ import annotations

from admin_app.audit.models import AuditLog
from admin_app.core.export import ExportSpec
from admin_app.core.export_specs import NEWEST_FIRST, col, register_exports

EXPORTS = register_exports({
    # The change history (admins only in the back office); secrets never reach it. The
    # changes are the JSON text as stored (keys sorted, not ASCII-escaped).
    "auditlog": ExportSpec(
        model=AuditLog, title="history",
        columns=(
            col("ID", "id", "int"), col("When", "created_at", "datetime"), col("By", "actor_label"),
            col("Action", "action"), col("Type", "entity_type"), col("Record id", "entity_id"),
            col("Record", "entity_label"), col("Changes", "changes"),
        ),
        search_columns=("entity_id", "entity_label"),
        filters=("entity_type", "actor_label", "action", "created_at"),
        default_sort=NEWEST_FIRST,
    ),
})
