"""Exports as jobs (issue 24) through the admin's real URLs: a big export is queued and the
Exports page shows it; its file has the list's rows; only its owner and admins see it;
cancel, expiry, the reaper, a full disk; and jobs through a real worker process, on the
embedded SQLite queue and on Redis, one of them killed mid-job."""

from __future__ import annotations

import codecs
import csv
import errno
import io
import os
import signal
import subprocess
import sys
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from flask import current_app
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.exc import OperationalError

from admin_app.audit.models import AuditLog
from admin_app.config import PROJECT_ROOT
from admin_app.core.export import iter_rows
from admin_app.core.models import utcnow
from admin_app.core.tasks import huey, register_task_queue
from admin_app.exports import services
from admin_app.exports.models import ExportJob
from admin_app.extensions import db
from tests import factories as f
from tests.conftest import PASSWORD, csrf_token_from, login_as, require_service

ROWS = 12


@pytest.fixture
def small_direct_limit(app):
    """Exports of more than 5 rows run as jobs (the list's count says so)."""
    before = app.config["EXPORT_DIRECT_MAX_ROWS"]
    app.config["EXPORT_DIRECT_MAX_ROWS"] = 5
    yield
    app.config["EXPORT_DIRECT_MAX_ROWS"] = before


@pytest.fixture(autouse=True)
def empty_storage(app):
    """Job ids start again in every test: so does the folder of export files."""
    for path in Path(app.config["EXPORT_STORAGE_DIR"]).glob("*"):
        path.unlink()


@pytest.fixture
def orders():
    lamp = f.product(name="Lamp", price=Decimal("3.00"))
    return f.many_orders(ROWS, product_=lamp)


def csv_rows(data: bytes) -> list[list[str]]:
    assert data.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(data[len(codecs.BOM_UTF8):].decode("utf-8"), newline="")))


def job_of(response: Any) -> ExportJob:
    assert response.status_code == 302, response.text
    assert "/admin/exports/?highlight=" in response.headers["Location"]
    job_id = int(response.headers["Location"].rsplit("=", 1)[1])
    db.session.expire_all()
    return db.session.get(ExportJob, job_id)


def test_a_big_export_runs_as_a_job_and_its_file_holds_the_lists_rows(client, staff, orders, small_direct_limit, app):
    job = job_of(client.get("/admin/order/export/csv/?sort=0"))
    assert (job.status, job.rows_done, job.rows_total, job.endpoint) == ("done", ROWS, ROWS, "order")
    page = client.get("/admin/exports/").text
    assert f'id="download-{job.id}"' in page and "Orders" in page and "12 of 12 rows" in page
    from_job = csv_rows(client.get(f"/admin/exports/{job.id}/download").data)
    app.config["EXPORT_DIRECT_MAX_ROWS"] = 1000
    direct = client.get("/admin/order/export/csv/?sort=0")
    assert direct.status_code == 200 and from_job == csv_rows(direct.data)
    assert len(from_job) == ROWS + 1


def test_a_job_says_what_it_exports_in_words(client, staff, orders, small_direct_limit):
    job = job_of(client.get("/admin/order/export/csv/?search=customer"))
    assert job.description == "search “customer”"
    page = client.get("/admin/exports/").text
    assert "search “customer”" in page and "CSV" in page


def test_progress_written_while_rows_are_read_in_batches_keeps_the_cursor(client, staff, orders,
                                                                           small_direct_limit, monkeypatch):
    """Each progress step commits while the rows still come from the export's cursor (on
    PostgreSQL a server-side one, which a commit in the same session would close)."""
    monkeypatch.setitem(current_app.config, "EXPORT_PROGRESS_EVERY_ROWS", 1)
    monkeypatch.setattr(services, "PROGRESS_EVERY_SECONDS", 0)
    monkeypatch.setattr(services, "iter_rows", lambda statement, app: iter_rows(statement, batch_size=2, app=app))
    job = job_of(client.get("/admin/order/export/csv/"))
    assert (job.status, job.rows_done, job.error) == ("done", ROWS, None)


def test_a_small_export_still_downloads_at_once(client, staff, orders):
    response = client.get("/admin/order/export/csv/")
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert db.session.scalar(select(ExportJob.id)) is None


def test_an_xlsx_job_is_a_workbook_of_the_rows(client, staff, orders, small_direct_limit):
    job = job_of(client.get("/admin/order/export/xlsx/"))
    assert job.status == "done"
    workbook = load_workbook(io.BytesIO(client.get(f"/admin/exports/{job.id}/download").data))
    assert workbook.active.max_row == ROWS + 1


def test_only_the_owner_and_admins_see_and_download_a_job(client, app, orders, small_direct_limit, staff_user,
                                                           admin_user):
    login_as(client, staff_user)
    job = job_of(client.get("/admin/order/export/csv/"))
    other = f.employee(username="other.staff", role="staff")
    other.set_password(PASSWORD)
    db.session.commit()
    stranger = app.test_client()
    login_as(stranger, other)
    assert stranger.get(f"/admin/exports/{job.id}/download").status_code == 404
    assert f"job-{job.id}" not in stranger.get("/admin/exports/").text
    admin = app.test_client()
    login_as(admin, admin_user)
    assert f"job-{job.id}" in admin.get("/admin/exports/").text
    assert admin.get(f"/admin/exports/{job.id}/download").status_code == 200
    assert client.get(f"/admin/exports/{job.id}/download").status_code == 200
    downloads = db.session.scalars(select(AuditLog).where(AuditLog.action == "download").order_by(AuditLog.id)).all()
    assert [(d.entity_type, d.entity_id, d.actor_label) for d in downloads] == [
        ("ExportJob", str(job.id), admin_user.username), ("ExportJob", str(job.id), staff_user.username)]


def test_viewers_export_too_and_see_only_their_own(client, viewer_user, orders, small_direct_limit):
    login_as(client, viewer_user)
    job = job_of(client.get("/admin/order/export/csv/"))
    assert job.username == viewer_user.username and job.status == "done"


def test_cancel_a_waiting_job_and_a_running_one(client, staff, staff_user, orders, monkeypatch):
    waiting = ExportJob(user_id=staff_user.id, username=staff_user.username, endpoint="order", export_type="csv",
                        entity_label="Orders", query="")
    db.session.add(waiting)
    db.session.commit()
    page = client.get("/admin/exports/").text
    assert client.post(f"/admin/exports/{waiting.id}/cancel",
                       data={"csrf_token": csrf_token_from(page)}).status_code == 302
    db.session.expire_all()
    assert db.session.get(ExportJob, waiting.id).status == "cancelled"
    services.run_export_job(waiting.id)  # the worker takes it later: nothing to do
    assert db.session.get(ExportJob, waiting.id).status == "cancelled"

    # Running: the worker stops at its next progress step and leaves no file.
    running = ExportJob(user_id=staff_user.id, username=staff_user.username, endpoint="order", export_type="csv",
                        entity_label="Orders", query="", cancel_requested=True)
    db.session.add(running)
    db.session.commit()
    monkeypatch.setitem(current_app.config, "EXPORT_PROGRESS_EVERY_ROWS", 1)
    services.run_export_job(running.id)
    db.session.expire_all()
    job = db.session.get(ExportJob, running.id)
    assert (job.status, job.file_name) == ("cancelled", None)
    assert not list(services.storage_dir().glob(f"order-{job.id}-*"))


def test_files_expire_and_say_so(client, staff, orders, small_direct_limit):
    job = job_of(client.get("/admin/order/export/csv/"))
    path = services.file_path(job)
    assert path.exists()
    assert services.expire_old_exports(now=utcnow() + timedelta(hours=23)) == 0
    assert services.expire_old_exports(now=utcnow() + timedelta(hours=25)) == 1
    db.session.expire_all()
    assert db.session.get(ExportJob, job.id).status == "expired" and not path.exists()
    response = client.get(f"/admin/exports/{job.id}/download")
    assert response.status_code == 302
    assert "no longer there" in client.get(response.headers["Location"]).text


def test_the_reaper_fails_a_job_whose_worker_went_silent_and_retry_starts_it_again(client, staff, staff_user,
                                                                                  orders):
    job = ExportJob(user_id=staff_user.id, username=staff_user.username, endpoint="order", export_type="csv",
                    entity_label="Orders", query="", status="running", rows_done=500, heartbeat_at=utcnow())
    db.session.add(job)
    db.session.commit()
    assert services.fail_stalled_jobs(now=utcnow() + timedelta(seconds=59)) == 0
    assert services.fail_stalled_jobs(now=utcnow() + timedelta(seconds=61)) == 1
    db.session.expire_all()
    failed = db.session.get(ExportJob, job.id)
    assert failed.status == "failed" and "stopped" in failed.error and "500 rows" in failed.error
    page = client.get("/admin/exports/").text
    assert failed.error in page and f'id="retry-{job.id}"' in page
    response = client.post(f"/admin/exports/{job.id}/retry", data={"csrf_token": csrf_token_from(page)})
    again = job_of(response)
    assert again.id != job.id and again.status == "done" and again.rows_done == ROWS


def test_a_full_disk_fails_the_job_with_a_message_and_leaves_no_file(client, staff, orders, small_direct_limit,
                                                                     monkeypatch):
    def full_disk(*args: Any, **kwargs: Any):
        yield b"id,date\r\n"
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(services, "csv_stream", full_disk)
    job = job_of(client.get("/admin/order/export/csv/"))
    assert job.status == "failed" and "disk for export files is full" in job.error
    assert not list(services.storage_dir().glob(f"order-{job.id}-*"))
    assert "disk for export files is full" in client.get("/admin/exports/").text


def test_a_lost_database_connection_fails_the_job_with_a_message(client, staff, orders, small_direct_limit,
                                                                 monkeypatch):
    def connection_lost(*args: Any, **kwargs: Any):
        raise OperationalError("SELECT ...", {}, Exception("server closed the connection unexpectedly"))

    monkeypatch.setattr(services, "iter_rows", connection_lost)
    job = job_of(client.get("/admin/order/export/csv/"))
    assert job.status == "failed" and "connection was lost" in job.error
    assert "server closed" not in client.get("/admin/exports/").text  # no raw database message


def test_a_jobs_message_is_in_the_language_of_who_started_it(client, staff, staff_user, orders,
                                                              small_direct_limit, monkeypatch):
    staff_user.preferences["language"] = "de"
    db.session.commit()
    monkeypatch.setattr(services, "XLSX_MAX_ROWS", 5)
    job = job_of(client.get("/admin/order/export/xlsx/"))
    assert job.locale == "de" and "CSV" in job.error and "Export them as CSV" not in job.error


def test_an_xlsx_beyond_excels_limit_is_refused_and_csv_offered(client, staff, orders, small_direct_limit,
                                                                monkeypatch):
    monkeypatch.setattr(services, "XLSX_MAX_ROWS", 5)
    job = job_of(client.get("/admin/order/export/xlsx/"))
    assert job.status == "failed" and "Export them as CSV instead" in job.error
    page = client.get("/admin/exports/").text
    assert "Export as CSV" in page
    as_csv = job_of(client.post(f"/admin/exports/{job.id}/retry", data={"csrf_token": csrf_token_from(page),
                                                                        "export_type": "csv"}))
    assert (as_csv.export_type, as_csv.status, as_csv.rows_done) == ("csv", "done", ROWS)


def test_the_menu_marks_a_finished_job_until_the_exports_page_is_seen(client, staff, orders, small_direct_limit):
    job_of(client.get("/admin/order/export/csv/"))
    dashboard = client.get("/admin/").text
    assert 'id="exports-mark"' in dashboard
    assert client.get("/admin/exports/mark.json").json == {"finished": 1, "running": False}
    client.get("/admin/exports/")
    assert client.get("/admin/exports/mark.json").json == {"finished": 0, "running": False}
    assert 'id="exports-mark"' not in client.get("/admin/").text


# --- through a real worker process --------------------------------------------------------


def wait_for(predicate: Any, seconds: float = 60.0) -> Any:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        db.session.expire_all()
        found = predicate()
        if found:
            return found
        time.sleep(0.2)
    raise AssertionError("timed out")


@pytest.fixture
def queue(app, tmp_path):
    """The suite's app on a real queue (the URL given), and a worker process on it."""
    started: list[subprocess.Popen[Any]] = []

    def use(url: str, flush: bool = True, **env: str) -> subprocess.Popen[Any]:
        app.config.update(TASK_QUEUE_IMMEDIATE=False, TASK_QUEUE_URL=url)
        register_task_queue(app)
        if flush:
            huey.flush()
        environment = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "TASK_QUEUE_URL": url,
                       "EXPORT_STORAGE_DIR": app.config["EXPORT_STORAGE_DIR"], "PYTHONUNBUFFERED": "1", **env}
        worker = subprocess.Popen([sys.executable, str(PROJECT_ROOT / "manage.py"), "worker", "--workers", "1"],
                                  env=environment, cwd=PROJECT_ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                  start_new_session=True)
        started.append(worker)
        return worker

    yield use
    for worker in started:
        if worker.poll() is None:
            os.killpg(worker.pid, signal.SIGKILL)
        worker.wait(timeout=30)
        if worker.stdout is not None:
            worker.stdout.close()
    app.config.update(TASK_QUEUE_IMMEDIATE=True, TASK_QUEUE_URL="")
    register_task_queue(app)


def test_a_job_through_the_embedded_queue(client, staff, orders, small_direct_limit, queue, tmp_path):
    queue(f"sqlite:///{tmp_path / 'tasks.db'}")
    job = job_of(client.get("/admin/order/export/csv/"))
    assert job.status == "queued"  # the request only queued it
    done = wait_for(lambda: db.session.get(ExportJob, job.id).status == "done")
    assert done
    assert len(csv_rows(client.get(f"/admin/exports/{job.id}/download").data)) == ROWS + 1


def test_a_job_queued_while_no_worker_runs_is_done_when_one_starts(client, staff, orders, small_direct_limit,
                                                                   queue, tmp_path):
    tasks = f"sqlite:///{tmp_path / 'tasks.db'}"
    first = queue(tasks)
    os.killpg(first.pid, signal.SIGKILL)
    first.wait(timeout=30)
    job = job_of(client.get("/admin/order/export/csv/"))
    time.sleep(1)
    db.session.expire_all()
    assert db.session.get(ExportJob, job.id).status == "queued"
    queue(tasks, flush=False)  # a worker again, on the same queue
    assert wait_for(lambda: db.session.get(ExportJob, job.id).status == "done")


def test_a_job_through_redis(client, staff, orders, small_direct_limit, queue):
    require_service("Redis", lambda: __import__("redis").Redis.from_url("redis://127.0.0.1:6379/3").ping())
    queue("redis://127.0.0.1:6379/3")
    job = job_of(client.get("/admin/order/export/xlsx/"))
    assert wait_for(lambda: db.session.get(ExportJob, job.id).status == "done")


def test_progress_is_visible_while_a_job_runs(client, staff, orders, small_direct_limit, queue, tmp_path):
    queue(f"sqlite:///{tmp_path / 'tasks.db'}", EXPORT_JOB_STEP_PAUSE="0.3", EXPORT_PROGRESS_EVERY_ROWS="2")
    job = job_of(client.get("/admin/order/export/csv/"))
    seen: list[int] = []

    def finished() -> bool:
        (state,) = [s for s in client.get("/admin/exports/status.json").json if s["id"] == job.id]
        if not seen or seen[-1] != state["rows_done"]:
            seen.append(state["rows_done"])
        return state["finished"]

    assert wait_for(finished)
    assert len(seen) >= 4 and seen == sorted(seen) and seen[-1] == ROWS, seen


def test_a_worker_killed_mid_job_is_failed_by_the_reaper(client, staff, orders, small_direct_limit, queue, tmp_path):
    worker = queue(f"sqlite:///{tmp_path / 'tasks.db'}", EXPORT_JOB_STEP_PAUSE="30")
    job = job_of(client.get("/admin/order/export/csv/"))
    running = wait_for(lambda: (j := db.session.get(ExportJob, job.id)).status == "running" and j.heartbeat_at)
    assert running
    os.killpg(worker.pid, signal.SIGKILL)
    worker.wait(timeout=30)
    db.session.expire_all()
    stalled = db.session.get(ExportJob, job.id)
    assert stalled.status == "running"  # nobody said otherwise: the queue does not redeliver
    assert services.fail_stalled_jobs(now=stalled.heartbeat_at + timedelta(seconds=59)) == 0
    assert services.fail_stalled_jobs(now=stalled.heartbeat_at + timedelta(seconds=61)) == 1
    db.session.expire_all()
    failed = db.session.get(ExportJob, job.id)
    assert failed.status == "failed" and "stopped" in failed.error
