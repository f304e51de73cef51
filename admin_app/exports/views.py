"""The Exports page: my export jobs (an admin's: everyone's), their progress, files and errors.

The menu's mark costs no query on an ordinary page: starting a job sets a flag in the
employee's session; only while it is set does the page poll :meth:`ExportsView.mark`, and
looking at the Exports page clears it.
"""

from __future__ import annotations

from typing import Any

from flask import abort, flash, jsonify, redirect, request, send_file, session, url_for
from flask_admin import expose
from flask_babel import get_locale
from flask_babel import gettext as _
from flask_login import current_user
from sqlalchemy import select

from admin_app.core import adapter
from admin_app.core.views import EXPORT_JOB_STARTERS, ShopBaseView, current_role
from admin_app.exports import services
from admin_app.exports.models import UNFINISHED, ExportJob
from admin_app.extensions import db

#: The session flag: this employee has a job whose end they have not seen yet.
WAITING = "exports_waiting"
SHOWN = 100  # jobs on the page, newest first

MIMETYPES = {"csv": "text/csv; charset=utf-8",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"}


def start_job_from_list(view: Any, export_type: str) -> Any:
    """A list's export that is too big to download at once: queued, and the employee taken
    to the Exports page to watch it."""
    job = services.start_export_job(view, export_type, request.query_string.decode("utf-8", "replace"),
                                    current_user, str(get_locale() or "en"), describe_list(view))
    session[WAITING] = True
    flash(_("The export of %(list)s runs in the background: it appears below with its progress, and the "
            "menu shows when it is ready.", list=view.name), "info")
    return redirect(url_for("exports.index", highlight=job.id))


EXPORT_JOB_STARTERS.append(start_job_from_list)


def describe_list(view: Any) -> str:
    """The list's search and filters in words, as its filter bar shows them."""
    args = adapter.list_extra_args(view)
    registered = adapter.active_filters(view)
    parts = [_("search “%(text)s”", text=args.search)] if args.search else []
    for index, _name, value in args.filters or ():
        flt = registered[index]
        parts.append(f"{flt.name} {flt.operation()} {value}")
    return " · ".join(parts)


class ExportsView(ShopBaseView):
    """Everyone who may export sees their own jobs; admins see everyone's."""

    def jobs(self) -> list[ExportJob]:
        statement = select(ExportJob).order_by(ExportJob.created_at.desc(), ExportJob.id.desc()).limit(SHOWN)
        if current_role() != "admin":
            statement = statement.where(ExportJob.user_id == current_user.id)
        return list(db.session.scalars(statement))

    def job_or_404(self, job_id: int) -> ExportJob:
        job = db.session.get(ExportJob, job_id)
        if job is None or not services.may_see(job, current_user):
            abort(404)  # another's job: as if there were none
        return job

    @expose("/")
    def index(self) -> Any:
        jobs = self.jobs()
        services.mark_seen(current_user.id)
        if not any(job.status in UNFINISHED and job.user_id == current_user.id for job in jobs):
            session.pop(WAITING, None)
        return self.render("admin/exports.html", jobs=jobs, highlight=request.args.get("highlight", type=int),
                           too_big=services.too_big_for_a_spreadsheet, list_names=self.list_names())

    def list_names(self) -> dict[str, str]:
        """Each list's name in the reader's language (a job keeps its list's name in English)."""
        return {view.endpoint: str(view.name) for view in adapter.registered_views(self.admin)
                if hasattr(view, "export_spec")}

    @expose("/status.json")
    def status(self) -> Any:
        """The jobs' progress, for the page's bar to move without reloading."""
        return jsonify([{"id": job.id, "status": job.status, "status_label": job.status_label,
                         "rows_done": job.rows_done, "rows_total": job.rows_total, "percent": job.percent,
                         "finished": job.status not in UNFINISHED} for job in self.jobs()])

    @expose("/mark.json")
    def mark(self) -> Any:
        """How many of my jobs finished unseen, and whether any still runs (the menu's mark)."""
        running = db.session.scalar(select(ExportJob.id).where(
            ExportJob.user_id == current_user.id, ExportJob.status.in_(UNFINISHED)).limit(1)) is not None
        finished = services.unseen_finished(current_user.id)
        if not running and not finished:
            session.pop(WAITING, None)
        return jsonify({"finished": finished, "running": running})

    @expose("/<int:job_id>/download")
    def download(self, job_id: int) -> Any:
        job = self.job_or_404(job_id)
        path = services.file_path(job) if job.status == "done" else None
        if path is None or not path.exists():
            flash(_("This export's file is no longer there (it expires after a while): start the export again."),
                  "warning")
            return redirect(url_for(".index"))
        services.record_download(job)
        download_name = f"{job.endpoint}-{job.created_at:%Y%m%d-%H%M}.{job.export_type}"
        return send_file(path, mimetype=MIMETYPES[job.export_type], as_attachment=True, download_name=download_name)

    @expose("/<int:job_id>/cancel", methods=("POST",))
    def cancel(self, job_id: int) -> Any:
        job = self.job_or_404(job_id)
        if services.cancel_job(job):
            flash(_("Export #%(id)s is being cancelled.", id=job.id), "info")
        else:
            flash(_("Export #%(id)s had already finished.", id=job.id), "warning")
        return redirect(url_for(".index"))

    @expose("/<int:job_id>/retry", methods=("POST",))
    def retry(self, job_id: int) -> Any:
        job = self.job_or_404(job_id)
        if job.status not in ("failed", "cancelled", "expired"):
            abort(400)
        # A spreadsheet too big for Excel comes again as CSV, as its message offers.
        as_csv = request.form.get("export_type") == "csv" and services.too_big_for_a_spreadsheet(job)
        again = services.retry_job(job, current_user, "csv" if as_csv else None)
        session[WAITING] = True
        flash(_("Export #%(id)s started again as #%(new)s.", id=job.id, new=again.id), "info")
        return redirect(url_for(".index", highlight=again.id))
