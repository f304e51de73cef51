"""Every page type rendered in the pseudo-locale (see ``tests/pseudo_locale.py``): any word a
person can read outside the ``⟦…⟧`` markers fails the test, naming the page and the text,
unless it is data (a value stored in the database) or on :data:`ALLOWED`.

Read as a person reads: text nodes, and the attributes a browser shows or speaks (``title``,
``placeholder``, ``aria-label``, ``alt``, button values). Not read: scripts and styles, the
escaped copy of an inline row kept for "Add" (``.inline-field-template``: the same labels as
the rows shown), and elements marked ``translate="no"`` (names: languages, time zones, themes).
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pyotp
import pytest
import wtforms
from babel.messages.pofile import read_po
from sqlalchemy import select

from admin_app.accounts.auth.two_factor import enrol_without_code
from admin_app.accounts.models import Employee
from admin_app.catalog.models import Product
from admin_app.core import adapter
from admin_app.core.i18n import TRANSLATIONS
from admin_app.core.models import utcnow
from admin_app.exports.models import ExportJob
from admin_app.extensions import db
from tests import factories as f
from tests.conftest import csrf_token_from, login_as
from tests.pseudo_locale import PSEUDO_LOCALE, build_pseudo_locale, outside_markers

#: Words that may show untranslated: symbols and codes that read the same in every language.
ALLOWED = frozenset({
    "CSV", "XLSX",  # file formats: "Export CSV"
})
# WTForms' own messages ("This field is required.") come from WTForms' catalogue (every
# language we ship has one), which the pseudo-locale cannot reach: accepted as they are.
WTFORMS_MESSAGES = Path(wtforms.__file__).parent / "locale" / "wtforms.pot"
ATTRIBUTES_READ = ("title", "placeholder", "aria-label", "alt")
# Hidden, or holders of data for scripts (Flask-Admin's filter definitions and action
# messages, ``<div id="filter-groups-data" class="d-none">``: JSON, its strings marked within).
HIDDEN_STYLE = re.compile(r"display\s*:\s*none")
DATA_HOLDER = re.compile(r"-data$")
SKIPPED_ELEMENTS = ("script", "style")
VOID = frozenset({"area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "track",
                  "wbr"})
WORD = re.compile(r"[^\W\d_]+")


class VisibleText(HTMLParser):
    """The texts of a page that a person reads or hears, in document order."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.texts: list[str] = []
        self.stack: list[bool] = []  # per open element: is its content skipped

    def skipping(self) -> bool:
        return bool(self.stack) and self.stack[-1]

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        skipped = (self.skipping() or tag in SKIPPED_ELEMENTS or attributes.get("translate") == "no"
                   or "inline-field-template" in (attributes.get("class") or "").split()
                   or "hidden" in attributes or HIDDEN_STYLE.search(attributes.get("style") or "") is not None
                   or DATA_HOLDER.search(attributes.get("id") or "") is not None)
        if not skipped:
            self.texts.extend(value for name, value in attrs if name in ATTRIBUTES_READ and value)
            if tag == "input" and attributes.get("type") in ("submit", "button") and attributes.get("value"):
                self.texts.append(attributes["value"] or "")
        if tag not in VOID:
            self.stack.append(skipped)

    def handle_endtag(self, tag: str) -> None:
        if tag not in VOID and self.stack:
            self.stack.pop()

    def handle_data(self, data: str) -> None:
        if not self.skipping() and data.strip():
            self.texts.append(data)


def stored_words() -> set[str]:
    """Every word of every value in the database: data, which is never translated."""
    words: set[str] = set()
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(select(table)):
            for value in row:
                if value is not None:
                    words.update(WORD.findall(value if isinstance(value, str) else json.dumps(value, default=str)))
    return words


def unmarked(page: str, data: set[str], accepted: set[str]) -> list[str]:
    """The texts of ``page`` holding a word outside the markers that is neither data nor allowed."""
    parser = VisibleText()
    parser.feed(page)
    found = []
    for text in parser.texts:
        if " ".join(text.split()) in accepted:
            continue
        rest = outside_markers(text)
        if any(word not in data and word not in ALLOWED for word in WORD.findall(rest)):
            found.append(" ".join(text.split()))
    return found


@pytest.fixture
def pseudo_app(extra_app: Any, app: Any, tmp_path: Path) -> Any:
    """The suite's app with the pseudo-locale offered and its catalogues in ``tmp_path``."""
    build_pseudo_locale(tmp_path)
    return extra_app(LANGUAGES=(*app.config["LANGUAGES"], PSEUDO_LOCALE),
                     BABEL_TRANSLATION_DIRECTORIES=f"{TRANSLATIONS};{tmp_path}",
                     ADMIN_TRANSLATIONS_PATH=str(tmp_path), EXPORT_STORAGE_DIR=str(tmp_path / "exports"))


def seed() -> None:
    """A record of every kind, some in the trash, so every page has something to show."""
    lamp = f.product(name="Brass lamp", price=Decimal("1234.56"), category=f.category(name="Lighting"))
    order = f.order(items=[(lamp, 2, Decimal("1234.56"))], order_date=datetime(2026, 3, 10, 23, 30, tzinfo=UTC))
    f.cart_item(order.user, lamp)
    post = f.post(title="Spring sale", tags=[f.tag(name="news")])
    f.comment(post, author_name="Dana", body="Lovely lamp")
    retired = f.product(name="Retired stool")
    retired.soft_delete()
    db.session.commit()


def pages(app: Any) -> Iterator[str]:
    """Every page type of every model view, with a record to show, and the other pages."""
    yield "/admin/"
    yield "/admin/account/"
    for view in adapter.registered_views(app.extensions["admin"][0]):
        model = getattr(view, "model", None)
        if model is None:
            continue
        yield f"/admin/{view.endpoint}/"
        writable = bool(view.write_roles)  # the admin may write wherever anyone may
        if writable:
            yield f"/admin/{view.endpoint}/new/"
        record = db.session.scalars(select(model).order_by(model.id).limit(1)).first()
        if record is None:
            continue
        yield f"/admin/{view.endpoint}/details/?id={record.id}"
        if writable:
            yield f"/admin/{view.endpoint}/edit/?id={record.id}"
        if view.endpoint != "auditlog":
            yield f"/admin/auditlog/record/{model.__name__}/{record.id}/"


def test_every_page_shows_only_marked_text_in_the_pseudo_locale(pseudo_app, admin_user, staff_user, viewer_user):
    seed()
    for employee in (admin_user, staff_user, viewer_user):
        employee.preferences["language"] = PSEUDO_LOCALE
    db.session.commit()
    with WTFORMS_MESSAGES.open("rb") as source:
        accepted = {message.id for message in read_po(source) if isinstance(message.id, str) and message.id}
    client = pseudo_app.test_client()
    signed_out = {"/login": client.get("/login", headers={"Accept-Language": PSEUDO_LOCALE})}
    login_as(client, admin_user)
    with pseudo_app.app_context():
        urls = list(pages(pseudo_app))
        retired = db.session.scalars(select(Product).where(Product.name == "Retired stool")
                                     .execution_options(include_deleted=True)).one()
    responses = {url: client.get(url) for url in urls}
    responses |= signed_out
    # The trash: a deleted record's page (410) and a purge's confirmation.
    responses[f"/admin/product/edit/?id={retired.id}"] = client.get(f"/admin/product/edit/?id={retired.id}")
    responses[f"/admin/product/purge/?id={retired.id}"] = client.get(f"/admin/product/purge/?id={retired.id}")
    # A form refused with messages on its fields, and a flashed message.
    product_form = client.get("/admin/product/new/")
    responses["/admin/product/new/ (refused)"] = client.post("/admin/product/new/", data={
        "csrf_token": csrf_token_from(product_form.text), "name": "", "price": "12,5,0", "stock": "-1"})
    # Adjust stock: its form, a shortage on its field, and the product's page after one.
    lamp = db.session.scalars(select(Product).where(Product.name == "Brass lamp")).one()
    adjust_url = f"/admin/product/adjust-stock/?id={lamp.id}"
    adjust_form = client.get(adjust_url)
    responses[adjust_url] = adjust_form
    responses[adjust_url + " (shortage)"] = client.post(adjust_url, data={
        "csrf_token": csrf_token_from(adjust_form.text), "id": str(lamp.id), "quantity": str(-(lamp.stock + 1)),
        "reason": "correction"})
    responses[adjust_url + " (out of range)"] = client.post(adjust_url, data={
        "csrf_token": csrf_token_from(adjust_form.text), "id": str(lamp.id), "quantity": "-9999999",
        "reason": "correction"})
    adjusted = client.post(adjust_url, data={"csrf_token": csrf_token_from(adjust_form.text), "id": str(lamp.id),
                                             "quantity": "5", "reason": "received", "note": "Delivery"})
    responses[adjust_url + " (adjusted)"] = client.get(adjusted.headers["Location"])
    # A bulk action's report, flashed on the list.
    comments = client.get("/admin/comment/")
    ids = re.findall(r'class="action-checkbox" value="(\d+)"', comments.text)
    done = client.post("/admin/comment/action/", data={"csrf_token": csrf_token_from(comments.text),
                                                        "action": "approve", "rowid": ids})
    responses["/admin/comment/ (after a bulk action)"] = client.get(done.headers["Location"])
    # Two-factor sign-in: enrolment (a wrong code, then its recovery codes), an employee's
    # sign-in security, and the second step of an enrolled employee's sign-in.
    enrol = client.get("/admin/account/security/two-factor/")
    secret = re.search(r'id="two-factor-secret"[^>]*>([A-Z2-7 ]+)<', enrol.text).group(1).replace(" ", "")
    responses["/admin/account/security/two-factor/ (wrong code)"] = client.post(
        "/admin/account/security/two-factor/", data={"csrf_token": csrf_token_from(enrol.text), "code": "000000"})
    responses["/admin/account/security/two-factor/ (recovery codes)"] = client.post(
        "/admin/account/security/two-factor/",
        data={"csrf_token": csrf_token_from(enrol.text), "code": pyotp.TOTP(secret).now()})
    responses[f"/admin/employee-security/{staff_user.id}/"] = client.get(f"/admin/employee-security/{staff_user.id}/")
    with pseudo_app.app_context():
        enrol_without_code(db.session.get(Employee, viewer_user.id), pyotp.random_base32())
    second_step = pseudo_app.test_client()
    login_as(second_step, viewer_user)
    responses["/login/two-factor"] = second_step.get("/login/two-factor", headers={"Accept-Language": PSEUDO_LOCALE})
    # Exports: one started from a list over the direct limit (a job, its flashed message, done
    # at once in the tests' immediate mode), one failed with its message, one running.
    pseudo_app.config["EXPORT_DIRECT_MAX_ROWS"] = 0
    started = client.get("/admin/order/export/csv/")
    assert "/admin/exports/" in started.headers["Location"]
    for status, extra in (("failed", {"error": "The disk for export files is full", "rows_done": 3}),
                          ("running", {"rows_done": 2, "rows_total": 5, "started_at": utcnow()})):
        db.session.add(ExportJob(user_id=admin_user.id, username=admin_user.username, endpoint="order",
                                 export_type="xlsx", entity_label="Orders", query="search=lamp", status=status,
                                 heartbeat_at=utcnow(), **extra))
    db.session.commit()
    responses["/admin/exports/ (done, failed, running)"] = client.get(started.headers["Location"])
    # Error pages.
    staff = pseudo_app.test_client()
    login_as(staff, staff_user)
    responses["/admin/employee/ (403, staff)"] = staff.get("/admin/employee/")
    responses["/admin/no-such-page/ (404)"] = client.get("/admin/no-such-page/")
    responses["/logout (405)"] = client.get("/logout")
    responses["/admin/account/ (400, no CSRF token)"] = client.post("/admin/account/", data={})
    responses["/admin/auditlog/record/Order/0/ (404)"] = client.get("/admin/auditlog/record/Order/0/")
    assert responses["/admin/product/new/ (refused)"].status_code == 200
    assert {response.status_code for response in responses.values()} == {200, 400, 403, 404, 405, 410}
    assert 'id="recovery-codes"' in responses["/admin/account/security/two-factor/ (recovery codes)"].text
    assert all(response.status_code == 200 for url, response in responses.items() if url.endswith(("/new/", "/edit/")))
    assert "⟦1 comment approved.⟧" in responses["/admin/comment/ (after a bulk action)"].text
    exports = responses["/admin/exports/ (done, failed, running)"].text
    assert exports.count('id="download-') == 1 and exports.count('id="retry-') == 1
    assert exports.count('id="cancel-') == 1 and "The disk for export files is full" in exports
    assert exports.count("<strong>⟦Orders⟧</strong>") == 3  # the list's name in the reader's language
    with pseudo_app.app_context():
        data = stored_words()
    offending = [f"{url}: {text!r}" for url, response in responses.items()
                 for text in dict.fromkeys(unmarked(response.text, data, accepted))]
    assert not offending, ("Text shown without being marked for translation (wrap it in _() or _l(), "
                           "or {{ _('...') }} in a template):\n  " + "\n  ".join(offending))
    assert len(responses) > 40  # every page type of every view was read
