"""An export job: what was asked (a list's search, filters and sort, a format), by whom, and
how far the worker has got (rows done of total, its heartbeat), then the file or the error."""

from __future__ import annotations

from datetime import datetime

from flask_babel import lazy_gettext as _l
from sqlalchemy import BigInteger, CheckConstraint, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from admin_app.core.models import UTCDateTime, utcnow
from admin_app.extensions import db

JOB_STATUSES = ("queued", "running", "done", "failed", "cancelled", "expired")
#: Statuses a worker may still change; the others are final.
UNFINISHED = ("queued", "running")
STATUS_LABELS = {"queued": _l("Waiting"), "running": _l("Running"), "done": _l("Ready"), "failed": _l("Failed"),
                 "cancelled": _l("Cancelled"), "expired": _l("Expired")}


class ExportJob(db.Model):
    __tablename__ = "export_jobs"
    kind_label = _l("Export")  # what staff call one, in their language
    # Its progress moves many times a second: the history records its downloads instead
    # (``exports.services.record_download``).
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    # CASCADE: an employee purged takes their exports (and files, at the next expiry run) along.
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), nullable=False, index=True)
    username: Mapped[str] = mapped_column(String(80), nullable=False)
    endpoint: Mapped[str] = mapped_column(String(50), nullable=False)  # the list's view: "order"
    entity_label: Mapped[str] = mapped_column(String(100), nullable=False)  # "Orders", in English
    export_type: Mapped[str] = mapped_column(String(10), nullable=False)  # csv or xlsx
    # The list's query string (search, filters, sort): the worker builds the same statement.
    query: Mapped[str] = mapped_column(Text, nullable=False, default="")
    # The same in words, as the list said it when the job started ("Status equals paid").
    description: Mapped[str] = mapped_column(Text, nullable=False, default="")
    locale: Mapped[str] = mapped_column(String(10), nullable=False, default="en")  # of the header row
    status: Mapped[str] = mapped_column(String(12), nullable=False, default="queued")
    cancel_requested: Mapped[bool] = mapped_column(default=False, nullable=False)
    rows_done: Mapped[int] = mapped_column(default=0, nullable=False)
    rows_total: Mapped[int | None] = mapped_column()
    error: Mapped[str | None] = mapped_column(Text)
    file_name: Mapped[str | None] = mapped_column(String(200))  # inside EXPORT_STORAGE_DIR
    file_size: Mapped[int | None] = mapped_column(BigInteger)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    heartbeat_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When its owner saw it finished (the menu's mark is for jobs finished and not seen).
    seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    __table_args__ = (
        CheckConstraint(f"status IN {JOB_STATUSES!r}", name="status_allowed"),
        CheckConstraint("export_type IN ('csv', 'xlsx')", name="export_type_allowed"),
        # The reaper's and the expiry's question: jobs in a status, oldest first.
        Index("ix_export_jobs_status_heartbeat_at", "status", "heartbeat_at"),
    )

    @property
    def status_label(self) -> str:
        return str(STATUS_LABELS.get(self.status, self.status))

    @property
    def percent(self) -> int:
        if self.status == "done":
            return 100
        if not self.rows_total:
            return 0
        return min(100, int(100 * self.rows_done / self.rows_total))

    def __str__(self) -> str:
        return f"{self.entity_label} ({self.export_type.upper()}) #{self.id}"

    def __repr__(self) -> str:
        return f"<ExportJob {self.id} {self.endpoint} {self.export_type} {self.status}>"
