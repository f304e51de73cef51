"""Export jobs: started from a list, run by a worker, kept until they expire.

- :func:`start_export_job` records what the list shows (its query string) and queues
  :func:`run_export_job`, which builds the very statement the list's own export would (in a
  request context made of that query string), counts the rows, and writes the file to
  ``EXPORT_STORAGE_DIR`` (a temporary name, renamed when complete), moving ``rows_done`` and
  the heartbeat as it goes, and stopping when its owner cancels.
- A full disk, a lost database connection or any other failure ends the job ``failed`` with
  a message; a worker killed mid-job leaves no message, so :func:`reap_stalled_jobs` (every
  minute) fails a running job whose heartbeat is older than :data:`HEARTBEAT_LIMIT`.
- :func:`expire_old_exports` (every ten minutes) deletes files older than
  ``EXPORT_RETENTION_HOURS``.
"""

from __future__ import annotations

import errno
import logging
import os
import secrets
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from flask import Flask, current_app
from flask_babel import force_locale
from flask_babel import gettext as _
from huey import crontab
from sqlalchemy import func, insert, select, update
from sqlalchemy.exc import DBAPIError

from admin_app.audit.models import AuditLog
from admin_app.audit.services import current_actor
from admin_app.core import adapter
from admin_app.core.export import XLSX_MAX_ROWS, csv_stream, iter_rows, xlsx_write
from admin_app.core.models import utcnow
from admin_app.core.tasks import huey, in_app_context
from admin_app.exports.models import UNFINISHED, ExportJob
from admin_app.extensions import db

log = logging.getLogger(__name__)

#: A running job whose worker has not written its heartbeat for this long has lost its worker.
HEARTBEAT_LIMIT = timedelta(minutes=1)
#: How often a running job writes its progress (and heartbeat), at most; it looks at the clock
#: every ``EXPORT_PROGRESS_EVERY_ROWS`` rows (500).
PROGRESS_EVERY_SECONDS = 0.5
EXTENSIONS = {"csv": "csv", "xlsx": "xlsx"}


class JobCancelled(Exception):
    """Its owner cancelled the job while it ran."""


class JobRefused(Exception):
    """The job cannot be done as asked (more rows than a spreadsheet holds): the message says why."""


def storage_dir(app: Flask | None = None) -> Path:
    app = app or current_app
    path = Path(app.config.get("EXPORT_STORAGE_DIR") or Path(app.instance_path) / "exports")
    path.mkdir(parents=True, exist_ok=True)
    return path


def file_path(job: ExportJob) -> Path | None:
    return storage_dir() / job.file_name if job.file_name else None


# --- starting, cancelling, retrying ---------------------------------------------------------


def start_export_job(view: Any, export_type: str, query: str, user: Any, locale: str,
                     description: str = "") -> ExportJob:
    """Record an export of ``view``'s list as it is shown (``query``, its query string, and
    ``description``, the same in words) and queue it."""
    job = ExportJob(user_id=user.id, username=user.username, endpoint=view.endpoint, export_type=export_type,
                    entity_label=_english_name(view), query=query, locale=locale, description=description)
    db.session.add(job)
    db.session.commit()
    run_export_job(job.id)
    return job


def _english_name(view: Any) -> str:
    with force_locale("en"):
        return str(view.name or view.endpoint)[:100]


def cancel_job(job: ExportJob) -> bool:
    """Cancel a job that has not finished: a waiting one at once, a running one at its next
    progress step. False when it had already finished."""
    if job.status not in UNFINISHED:
        return False
    if job.status == "queued":
        job.status, job.finished_at = "cancelled", utcnow()
    else:
        job.cancel_requested = True
    db.session.commit()
    return True


def too_big_for_a_spreadsheet(job: ExportJob) -> bool:
    """An XLSX job refused for holding more rows than Excel does (CSV has no such limit)."""
    return job.export_type == "xlsx" and job.status == "failed" and (job.rows_total or 0) > XLSX_MAX_ROWS - 1


def retry_job(job: ExportJob, user: Any, export_type: str | None = None) -> ExportJob:
    """The same export again (as ``export_type``, if given), as a new job (a failed or
    cancelled one stays as it ended)."""
    again = ExportJob(user_id=user.id, username=user.username, endpoint=job.endpoint,
                      export_type=export_type or job.export_type,
                      entity_label=job.entity_label, query=job.query, locale=job.locale, description=job.description)
    db.session.add(again)
    db.session.commit()
    run_export_job(again.id)
    return again


def may_see(job: ExportJob, user: Any) -> bool:
    """Only the employee who started a job, and admins, see it and its file."""
    return job.user_id == getattr(user, "id", None) or getattr(user, "role", None) == "admin"


def record_download(job: ExportJob) -> None:
    """A download is a history entry of the job (who, when, which file, how many rows)."""
    actor = current_actor()
    db.session.execute(insert(AuditLog.__table__).values(
        created_at=utcnow(), actor_id=actor.id, actor_label=actor.label, action="download",
        entity_type="ExportJob", entity_id=str(job.id), entity_label=str(job)[:200],
        part_of_type=None, part_of_id=None,
        changes={"file": job.file_name, "rows": job.rows_done, "started_by": job.username}))
    db.session.commit()


def unseen_finished(user_id: int) -> int:
    """How many of this employee's jobs finished since they last looked (the menu's mark)."""
    return db.session.scalar(select(func.count()).select_from(ExportJob).where(
        ExportJob.user_id == user_id, ExportJob.status.in_(("done", "failed")), ExportJob.seen_at.is_(None))) or 0


def mark_seen(user_id: int) -> None:
    db.session.execute(update(ExportJob).where(ExportJob.user_id == user_id, ExportJob.seen_at.is_(None),
                                               ExportJob.status.not_in(UNFINISHED)).values(seen_at=utcnow()))
    db.session.commit()


# --- the worker's side --------------------------------------------------------------------


@huey.task()
@in_app_context
def run_export_job(job_id: int) -> None:
    job = db.session.get(ExportJob, job_id)
    if job is None or job.status != "queued":
        return  # cancelled while it waited, or already taken by another worker
    job.status, job.started_at, job.heartbeat_at = "running", utcnow(), utcnow()
    db.session.commit()
    with force_locale(job.locale):  # its messages in the language of who started it
        _run(job)


def _run(job: ExportJob) -> None:
    job_id = job.id
    try:
        export_to_file(job)
    except JobCancelled:
        _finish(job_id, "cancelled")
    except JobRefused as refused:
        _finish(job_id, "failed", str(refused))
    except OSError as error:
        log.warning("export job %s failed writing its file: %s", job_id, error)
        _finish(job_id, "failed", _disk_message(error))
    except DBAPIError as error:
        log.warning("export job %s lost the database: %s", job_id, error)
        _finish(job_id, "failed", _("The database could not be read while exporting (the connection was "
                                    "lost). Retry the export."))
    except Exception:
        log.exception("export job %s failed", job_id)
        _finish(job_id, "failed", _("The export failed unexpectedly. Retry it; if it fails again, tell an admin."))


def _disk_message(error: OSError) -> str:
    if error.errno == errno.ENOSPC:
        return _("The disk for export files is full, so the file could not be written. Ask an admin to free "
                 "space, then retry.")
    return _("The export file could not be written (%(reason)s). Retry the export.",
             reason=error.strerror or type(error).__name__)


def _finish(job_id: int, status: str, error: str | None = None) -> None:
    """End a job that did not complete, in a fresh transaction (a failed one is gone; what
    was committed, as the row count, stays)."""
    db.session.rollback()
    db.session.execute(update(ExportJob).where(ExportJob.id == job_id).values(
        status=status, error=error, finished_at=utcnow(), heartbeat_at=utcnow()))
    db.session.commit()


def export_to_file(job: ExportJob) -> None:
    """Write the job's file: the list's statement, counted, then streamed into the file."""
    app = current_app._get_current_object()
    view = _list_view(app, job.endpoint)
    url = f"/admin/{job.endpoint}/export/{job.export_type}/?{job.query}"
    with app.test_request_context(url):
        spec = view.export_spec()
        statement = view.export_statement(spec)
        headers = [column.header for column in spec.columns]
        sheet_title = str(view.name or view.endpoint)
    total = db.session.scalar(select(func.count()).select_from(statement.order_by(None).subquery())) or 0
    job.rows_total = total
    db.session.commit()
    if job.export_type == "xlsx" and total > XLSX_MAX_ROWS - 1:
        raise JobRefused(_("%(rows)s rows are more than a spreadsheet holds (%(limit)s). Export them as CSV "
                           "instead.", rows=f"{total:,}", limit=f"{XLSX_MAX_ROWS - 1:,}"))
    folder = storage_dir(app)
    name = f"{job.endpoint}-{job.id}-{secrets.token_hex(6)}.{EXTENSIONS[job.export_type]}"
    partial = folder / (name + ".part")
    progress = Progress(job, pause=float(app.config.get("EXPORT_JOB_STEP_PAUSE", 0)))
    progress.step(0, force=True)  # the total, and a first heartbeat
    every = int(app.config.get("EXPORT_PROGRESS_EVERY_ROWS", 500))
    rows = CountedRows(iter_rows(statement, app=app), progress.step, every)
    try:
        with open(partial, "wb") as out:
            if job.export_type == "csv":
                for chunk in csv_stream(rows, spec.columns, headers=headers):
                    out.write(chunk)
            else:
                xlsx_write(rows, spec.columns, out, sheet_title=sheet_title, headers=headers)
            out.flush()
            os.fsync(out.fileno())
        os.replace(partial, folder / name)
    except BaseException:
        rows.close()
        partial.unlink(missing_ok=True)
        raise
    job.status, job.rows_done, job.file_name = "done", rows.count, name
    job.file_size, job.finished_at, job.heartbeat_at = (folder / name).stat().st_size, utcnow(), utcnow()
    db.session.commit()


def _list_view(app: Flask, endpoint: str) -> Any:
    for view in adapter.registered_views(app.extensions["admin"][0]):
        if getattr(view, "endpoint", None) == endpoint and hasattr(view, "export_spec"):
            return view
    raise JobRefused(_("There is no list named %(name)s to export.", name=endpoint))


@dataclass
class Progress:
    """Writes a running job's progress and heartbeat, at most every :data:`PROGRESS_EVERY_SECONDS`,
    and stops the job when its owner cancelled it."""

    job: ExportJob
    pause: float = 0.0  # EXPORT_JOB_STEP_PAUSE: a demonstration's or a test's slow job
    last: float = 0.0

    def step(self, done: int, force: bool = False) -> None:
        if self.pause:
            time.sleep(self.pause)
        now = time.monotonic()
        if not force and not self.pause and now - self.last < PROGRESS_EVERY_SECONDS:
            return
        self.last = now
        # A transaction of its own on a connection of its own: the rows are read through a
        # server-side cursor (PostgreSQL) in the export's session, which a commit there would close.
        with db.engine.begin() as connection:
            cancelled = connection.scalar(
                update(ExportJob.__table__).where(ExportJob.__table__.c.id == self.job.id)
                .values(rows_done=done, heartbeat_at=utcnow()).returning(ExportJob.__table__.c.cancel_requested))
        if cancelled:
            raise JobCancelled


class CountedRows:
    """The rows of an export, counted, reporting every few rows to ``step(count)``."""

    def __init__(self, rows: Any, step: Callable[[int], None], every: int) -> None:
        self.rows, self.step, self.every, self.count = rows, step, every, 0

    def __iter__(self) -> Iterator[Sequence[Any]]:
        for row in self.rows:
            yield row
            self.count += 1
            if self.count % self.every == 0:
                self.step(self.count)

    def close(self) -> None:
        self.rows.close()


# --- housekeeping ---------------------------------------------------------------------------


@huey.periodic_task(crontab(minute="*"))
@in_app_context
def reap_stalled_jobs() -> int:
    """Fail every running job whose worker stopped writing its heartbeat (killed, crashed)."""
    return fail_stalled_jobs()


def fail_stalled_jobs(now: Any = None) -> int:
    limit = (now or utcnow()) - HEARTBEAT_LIMIT
    stalled = db.session.scalars(select(ExportJob).where(
        ExportJob.status == "running", ExportJob.heartbeat_at < limit)).all()
    for job in stalled:
        job.status, job.finished_at = "failed", utcnow()
        job.error = _("The worker writing this export stopped (no sign of it for over a minute, after "
                      "%(done)s rows). Retry the export.", done=f"{job.rows_done:,}")
    db.session.commit()
    return len(stalled)


@huey.periodic_task(crontab(minute="*/10"))
@in_app_context
def expire_exports() -> int:
    return expire_old_exports()


def expire_old_exports(now: Any = None) -> int:
    """Delete the files of jobs finished more than ``EXPORT_RETENTION_HOURS`` ago."""
    hours = float(current_app.config.get("EXPORT_RETENTION_HOURS", 24))
    limit = (now or utcnow()) - timedelta(hours=hours)
    old = db.session.scalars(select(ExportJob).where(
        ExportJob.status.in_(("done", "failed", "cancelled")), ExportJob.finished_at < limit)).all()
    for job in old:
        path = file_path(job)
        if path is not None:
            path.unlink(missing_ok=True)
        job.status, job.file_name = "expired", None
    db.session.commit()
    return len(old)
