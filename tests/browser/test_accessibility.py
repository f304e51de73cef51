"""WCAG 2.1 AA on every page type (issue 21): axe-core finds no violation of its WCAG 2.0/2.1
A and AA rules, nor of the region, landmark-one-main and page-has-heading-one best
practices, in the Light and Dark themes, at 1366 px and at 320 px, where no page may
scroll sideways as a whole (WCAG 1.4.10, reflow).

A new page type is one line in ``SIGNED_OUT_PAGES`` or ``SIGNED_IN_PAGES``.
"""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal
from typing import Any

import pyotp
import pytest

from admin_app.accounts.auth.two_factor import enrol_without_code
from admin_app.core.models import utcnow
from admin_app.exports.models import ExportJob
from admin_app.extensions import db
from tests import factories as f
from tests.browser.accessibility import (
    DESKTOP,
    PHONE,
    axe_violations,
    describe,
    failing,
    horizontal_overflow,
    scan_context,
)
from tests.browser.conftest import login
from tests.conftest import PASSWORD

pytestmark = pytest.mark.browser

# (name, path); "{order}" is an order with items, "{deleted}" an order in the trash.
SIGNED_OUT_PAGES = [
    ("sign-in", "/login"),
    ("error page", "/no-such-page"),
]
SIGNED_IN_PAGES = [
    ("dashboard", "/admin/"),
    ("order list", "/admin/order/"),
    ("product list", "/admin/product/"),
    ("employee list", "/admin/employee/"),
    ("create", "/admin/order/new/"),
    ("edit", "/admin/order/edit/?id={order}"),
    ("customer edit", "/admin/customer/edit/?id={customer}"),
    ("details", "/admin/order/details/?id={order}"),
    ("history", "/admin/auditlog/record/Order/{order}/"),
    ("product with its stock movements", "/admin/product/details/?id={product}"),
    ("product edit", "/admin/product/edit/?id={product}"),
    ("adjust stock", "/admin/product/adjust-stock/?id={product}"),
    ("deleted record", "/admin/order/details/?id={deleted}"),
    ("my account", "/admin/account/"),
    ("two-factor enrolment", "/admin/account/security/two-factor/"),
    ("employee sign-in security", "/admin/employee-security/{employee}/"),
    ("error page signed in", "/admin/no-such-page/"),
    ("exports with jobs in every state", "/admin/exports/"),
]
THEMES = ["light", "dark"]


def shop_data() -> dict[str, Any]:
    ada = f.customer(username="ada.l", first_name="Ada", last_name="Lovelace")
    f.address(ada, street="Analytical Row 1", city="London")
    lamp = f.product(name="Brass lamp", price=Decimal("20.00"), stock=3)
    desk = f.product(name="Oak desk", price=Decimal("150.00"), stock=12)
    order = f.order(ada, items=[(lamp, 2, Decimal("20.00")), (desk, 1, Decimal("150.00"))], status="paid")
    f.order(ada, items=[(desk, 1, Decimal("150.00"))])
    deleted = f.order(ada, items=[(lamp, 1, Decimal("20.00"))])
    deleted.soft_delete()
    grace = f.employee(username="grace.h", role="staff")
    db.session.commit()
    export_jobs(grace)
    return {"order": order.id, "customer": ada.id, "deleted": deleted.id, "employee": grace.id, "product": lamp.id}


def export_jobs(employee: Any) -> None:
    """An export in each state the Exports page shows differently (an admin sees everyone's)."""
    now = utcnow()
    states = [("done", {"rows_done": 12, "rows_total": 12, "file_name": "order-1.csv", "finished_at": now}),
              ("failed", {"rows_done": 500, "rows_total": 2000, "finished_at": now,
                          "error": "The disk for export files is full, so the file could not be written."}),
              ("running", {"rows_done": 40, "rows_total": 100, "started_at": now - timedelta(seconds=20)}),
              ("queued", {}),
              ("cancelled", {"rows_done": 10, "rows_total": 100, "finished_at": now})]
    for status, columns in states:
        db.session.add(ExportJob(user_id=employee.id, username=employee.username, endpoint="order",
                                 export_type="csv", entity_label="Orders", query="search=lamp&sort=2",
                                 status=status, heartbeat_at=now, **columns))
    db.session.commit()


def check_page(page: Any, path: str) -> list[str]:
    """Problems found on one page at both widths (an empty list when it passes)."""
    problems = []
    for viewport in (DESKTOP, PHONE):
        page.set_viewport_size(viewport)
        page.goto(path)
        page.wait_for_load_state("networkidle")
        found = failing(axe_violations(page))
        if found:
            problems.append(f"{path} at {viewport['width']} px:\n{describe(found)}")
        if viewport is PHONE and (overflow := horizontal_overflow(page)) > 0:
            problems.append(f"{path} at 320 px scrolls sideways by {overflow} px")
    return problems


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize(("name", "path"), SIGNED_OUT_PAGES, ids=[name for name, _ in SIGNED_OUT_PAGES])
def test_signed_out_page_passes_axe_and_reflows(browser, live_server, theme, name, path):
    """Signed-out pages follow the system's colour scheme."""
    context = scan_context(browser, live_server, color_scheme=theme)
    try:
        page = context.new_page()
        problems = check_page(page, path)
    finally:
        context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("theme", THEMES)
@pytest.mark.parametrize(("name", "path"), SIGNED_IN_PAGES, ids=[name for name, _ in SIGNED_IN_PAGES])
def test_back_office_page_passes_axe_and_reflows(browser, live_server, admin_user, theme, name, path):
    """The employee's chosen theme, the system set to the other one (the choice wins)."""
    ids = shop_data()
    admin_user.preferences["theme"] = theme
    db.session.commit()
    context = scan_context(browser, live_server, color_scheme="light" if theme == "dark" else "dark")
    try:
        page = context.new_page()
        login(page, "admin1", PASSWORD)
        problems = check_page(page, path.format(**ids))
    finally:
        context.close()
    assert not problems, "\n".join(problems)


@pytest.mark.parametrize("theme", THEMES)
def test_two_factor_step_passes_axe_and_reflows(browser, live_server, admin_user, theme):
    """The sign-in's second step, reached after the password of an enrolled employee."""
    enrol_without_code(admin_user, pyotp.random_base32())
    context = scan_context(browser, live_server, color_scheme=theme)
    try:
        page = context.new_page()
        login(page, "admin1", PASSWORD)
        assert "/login/two-factor" in page.url
        problems = check_page(page, "/login/two-factor")
    finally:
        context.close()
    assert not problems, "\n".join(problems)
