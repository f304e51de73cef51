"""A big export as a job, in Chromium (issue 24): a staff member exports the order list as it
is filtered, lands on the Exports page, watches the progress bar move while a real worker
process writes the file, sees the page show the finished job, downloads the file (the rows
the list shows), and, for an export that ends while they are on another page, sees the
menu's mark appear there (in both themes, without an accessibility violation).

The live server's app queues on a SQLite task queue file instead of running tasks at once,
and a ``manage.py worker`` process on the suite's database takes the jobs, slowed down
(``EXPORT_JOB_STEP_PAUSE``) so that the bar has steps to show.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from admin_app.config import PROJECT_ROOT
from admin_app.core.tasks import huey, register_task_queue
from admin_app.extensions import db
from tests import factories as f
from tests.browser.accessibility import axe_violations, describe, failing, scan_context
from tests.browser.conftest import login, screenshot
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

PENDING = 80  # the rows exported: more than the direct limit below, so a job
DIRECT_MAX_ROWS = 5
# The worker writes its progress every 2 rows and pauses 0.3 s there: ~12 s a job, ~40 steps.
WORKER_SETTINGS = {"EXPORT_JOB_STEP_PAUSE": "0.3", "EXPORT_PROGRESS_EVERY_ROWS": "2"}
SLOW = 120_000  # ms: a loaded machine may be slow, and the test waits on conditions only
QUEUE_SETTINGS = ("TASK_QUEUE_IMMEDIATE", "TASK_QUEUE_URL", "EXPORT_DIRECT_MAX_ROWS")


@pytest.fixture
def worker(app: Any, tmp_path: Path) -> Iterator[subprocess.Popen[Any]]:
    """The live server's app on a SQLite task queue, a worker process on it and on the
    suite's database; afterwards the app runs tasks at once again, as the other tests expect."""
    before = {name: app.config[name] for name in QUEUE_SETTINGS}
    url = f"sqlite:///{tmp_path / 'tasks.db'}"
    app.config.update(TASK_QUEUE_IMMEDIATE=False, TASK_QUEUE_URL=url, EXPORT_DIRECT_MAX_ROWS=DIRECT_MAX_ROWS)
    register_task_queue(app)
    huey.flush()
    environment = {**os.environ, "DATABASE_URL": app.config["SQLALCHEMY_DATABASE_URI"], "TASK_QUEUE_URL": url,
                   "EXPORT_STORAGE_DIR": app.config["EXPORT_STORAGE_DIR"], "PYTHONUNBUFFERED": "1",
                   **WORKER_SETTINGS}
    with (tmp_path / "worker.log").open("wb") as log:
        process = subprocess.Popen([sys.executable, str(PROJECT_ROOT / "manage.py"), "worker", "--workers", "1"],
                                   env=environment, cwd=PROJECT_ROOT, stdout=log, stderr=subprocess.STDOUT,
                                   start_new_session=True)
    try:
        yield process
    finally:
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        app.config.update(before)
        register_task_queue(app)


def csv_rows(path: Path) -> list[list[str]]:
    data = path.read_bytes()
    assert data.startswith(codecs.BOM_UTF8)
    return list(csv.reader(io.StringIO(data[len(codecs.BOM_UTF8):].decode("utf-8"), newline="")))


def progress_of(page: Any, job_id: int) -> Any:
    return page.get_by_role("progressbar", name=f"Progress of export #{job_id}")


def start_export(page: Any, export_type: str) -> int:
    """Export the list shown through its Export menu; the job's id, from the Exports page."""
    page.get_by_role("button", name="Export", exact=True).click()
    page.get_by_role("link", name=f"Export {export_type.upper()}").click()
    page.wait_for_url(re.compile(r"/admin/exports/\?highlight=\d+$"), timeout=SLOW)
    assert page.get_by_text("runs in the background").is_visible()
    return int(page.url.rsplit("=", 1)[1])


def watch_the_bar_move(page: Any, job_id: int, steps: int = 2) -> list[int]:
    """Wait for the bar's value to grow ``steps`` times while the job still runs."""
    seen = [int(progress_of(page, job_id).get_attribute("aria-valuenow"))]
    for _ in range(steps):
        grown = page.wait_for_function(
            """([id, last]) => {
                 const bar = document.querySelector(`#job-${id} [role=progressbar]`);
                 const value = bar ? Number(bar.getAttribute("aria-valuenow")) : -1;
                 return value > last ? value : false;
               }""", arg=[job_id, seen[-1]], timeout=SLOW)
        seen.append(int(grown.json_value()))
    return seen


def test_a_big_export_moves_its_bar_ends_marks_the_menu_and_downloads_the_lists_rows(
        page: Any, browser: Any, live_server: str, staff_user: Any, worker: Any) -> None:
    lamp = f.product(name="Lamp", price=Decimal("3.00"))
    pending = f.many_orders(PENDING, product_=lamp)
    for _ in range(3):  # not in the filtered list, so not in its export
        paid = f.order(items=[(lamp, 1, Decimal("3.00"))])
        paid.status = "paid"
    db.session.commit()
    blocked: list[str] = []
    page.on("console", lambda message: blocked.append(message.text)
            if message.type == "error" and "Content Security Policy" in message.text else None)

    # The order list, filtered to pending orders, 100 rows a page: every row it holds.
    login(page, "staff1", PASSWORD)
    page.goto("/admin/order/")
    page.get_by_role("navigation", name="Quick filters").get_by_role("group", name="Status") \
        .get_by_role("link", name=f"Pending ({PENDING})").click()
    page.wait_for_load_state("networkidle")
    page.locator("a.dropdown-toggle", has_text="20 items").click()
    page.get_by_role("link", name="100 items").click()
    page.wait_for_load_state("networkidle")
    shown = page.locator("#model-list td.col-id").all_inner_texts()
    assert len(shown) == PENDING and sorted(map(int, shown)) == sorted(order.id for order in pending)

    # Export CSV: a job, watched on the Exports page until it ends (the page reloads itself).
    job_id = start_export(page, "csv")
    bar = progress_of(page, job_id)
    seen = watch_the_bar_move(page, job_id)
    assert seen == sorted(set(seen)) and seen[-1] < 100, f"the bar moved {seen} (then the job ended)"
    assert re.fullmatch(r"\d+ of 80 rows", page.locator(f"#job-{job_id} .job-rows").inner_text())
    assert re.fullmatch(r"\d+ (s|min) left", page.locator(f"#job-{job_id} .job-left").inner_text().strip())
    screenshot(page, "exports-running")
    download = page.locator(f"#download-{job_id}")
    download.wait_for(timeout=SLOW)  # the link comes with the page reloaded after the job's end
    assert bar.get_attribute("aria-valuenow") == "100"
    assert page.locator(f"#job-{job_id} .job-status").inner_text().strip() == "Ready"
    assert page.locator(f"#job-{job_id} .job-rows").inner_text() == "80 of 80 rows"
    with page.expect_download(timeout=SLOW) as downloading:
        download.click()
    rows = csv_rows(Path(downloading.value.path()))
    assert rows[0][0] == "ID" and [row[0] for row in rows[1:]] == shown  # the list's rows, in its order

    # An export that ends while its owner is elsewhere: the menu's mark appears there.
    page.go_back()
    page.wait_for_url(re.compile(r"/admin/order/"))
    other = start_export(page, "xlsx")
    page.goto("/admin/")
    mark = page.locator("#exports-mark")
    mark.wait_for(state="visible", timeout=SLOW)
    assert mark.inner_text().split() == ["Export", "ready", "1"]
    screenshot(page, "exports-mark")
    for theme in ("light", "dark"):  # the mark reads well in both themes (axe, in a CSP-free copy)
        staff_user.preferences["theme"] = theme
        db.session.commit()
        scan = scan_context(browser, live_server)
        try:
            scan.add_cookies(page.context.cookies())
            scanned = scan.new_page()
            scanned.goto("/admin/")
            scanned.locator("#exports-mark").wait_for(state="visible", timeout=SLOW)
            found = failing(axe_violations(scanned))
        finally:
            scan.close()
        assert not found, f"{theme} theme:\n{describe(found)}"
    mark.click()
    page.wait_for_url(re.compile(r"/admin/exports/$"))
    assert page.locator(f"#download-{other}").is_visible() and page.locator(f"#download-{job_id}").is_visible()
    page.goto("/admin/")
    assert page.locator("#exports-mark").count() == 0  # seen: the mark is gone
    assert not blocked, blocked
