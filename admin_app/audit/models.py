"""Change history: one ``audit_log`` row per created, changed or deleted record.

Rows are written by :mod:`admin_app.audit.services` inside the flush that makes the change,
so they commit and roll back together with it. The log is append-only and is itself never
audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from admin_app.core.models import MutableJSONDict, UTCDateTime, utcnow
from admin_app.extensions import db

if TYPE_CHECKING:
    from admin_app.accounts.models import User

AUDIT_ACTIONS = ("create", "update", "delete", "soft_delete", "restore", "purge", "erase")


class AuditLog(db.Model):
    """Who did what to which record, and which fields changed from what to what."""

    __tablename__ = "audit_log"
    kind_label = _l("History entry")  # what staff call one, in their language

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False, index=True)
    # SET NULL: purging an employee must not be blocked by (or erase) the history they made;
    # ``actor_label`` keeps their name.
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    # The employee's username, or "cli" / "system" when no employee acted.
    actor_label: Mapped[str] = mapped_column(String(80), nullable=False)
    # One of AUDIT_ACTIONS, or a free-form label such as "status:paid" for a bulk action.
    action: Mapped[str] = mapped_column(String(50), nullable=False, index=True)
    entity_type: Mapped[str] = mapped_column(String(50), nullable=False)
    # Text, so any primary key fits and ids coming from URLs and forms compare without casts.
    entity_id: Mapped[str | None] = mapped_column(String(64))
    entity_label: Mapped[str | None] = mapped_column(String(200))
    # The whole the record is a part of (an order item's order, an address's customer; see
    # ``core.models.whole_relationship``), so the whole's history shows its parts' entries
    # interleaved with its own. NULL for a record that is no part.
    part_of_type: Mapped[str | None] = mapped_column(String(50))
    part_of_id: Mapped[str | None] = mapped_column(String(64))
    # ``{field: [old, new]}`` with JSON-safe values (Decimal as "12.50", datetimes ISO 8601);
    # secrets appear as ``{field: "changed"}`` without values.
    changes: Mapped[dict[str, Any]] = mapped_column(MutableJSONDict, default=dict, nullable=False)

    # No back-reference: users do not need to know about their history entries, and a
    # relationship on User would make deleting a user load (and null) them all in Python.
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])

    __table_args__ = (
        Index("ix_audit_log_entity_type_entity_id", "entity_type", "entity_id"),
        Index("ix_audit_log_part_of_type_part_of_id", "part_of_type", "part_of_id"),
    )

    def __str__(self) -> str:
        return f"{self.action} {self.entity_type} {self.entity_id}"

    def __repr__(self) -> str:
        return (f"<AuditLog {self.id} {self.action} {self.entity_type} {self.entity_id!r}"
                f" by {self.actor_label!r}>")
