"""Behaviour every back-office view shares, written once.

- :class:`RoleAccessMixin`: sign-in required, roles checked on the server for every view
  and every action (anonymous → login page, signed in without the role → 403).
- :class:`ShopModelView`: the base of every model view: access, per-user page size,
  soft delete with restore and purge (see :mod:`admin_app.core.soft_delete_view`), streaming
  and safe exports, and friendly messages for constraint violations.
"""

from __future__ import annotations

import logging
import re
import secrets
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from datetime import datetime
from functools import cached_property, wraps
from typing import Any
from urllib.parse import urlencode

from flask import Response, abort, current_app, flash, g, has_request_context, redirect, request, send_file, url_for
from flask_admin import BaseView, expose
from flask_admin.actions import action
from flask_admin.contrib.sqla import ModelView
from flask_admin.helpers import get_redirect_target
from flask_admin.model import typefmt
from flask_admin.model.template import ViewPopupRowAction, ViewRowAction
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_babel import ngettext
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup, escape
from sqlalchemy import Column, String, func, literal_column, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import MANYTOONE, ONETOMANY, joinedload
from sqlalchemy.orm.exc import StaleDataError
from werkzeug.datastructures import CombinedMultiDict, ImmutableMultiDict, MultiDict
from werkzeug.routing import BuildError
from wtforms import HiddenField, ValidationError
from wtforms.form import BaseForm

from admin_app.core import adapter, trash
from admin_app.core.errors import describe_integrity_error
from admin_app.core.export import ExportSpec, build_statement, csv_stream, iter_rows, xlsx_write
from admin_app.core.export_specs import EXPORTS
from admin_app.core.fields import ShopFilterConverter, ShopModelConverter
from admin_app.core.i18n import format_datetime, format_number
from admin_app.core.models import MAX_INTEGER, DataRuleError, utcnow
from admin_app.core.quick_filters import DatePresetFilter, quick_filter_groups
from admin_app.core.search import limit_search, search_clause
from admin_app.core.security import ROLES, is_same_site_path
from admin_app.core.soft_delete import in_the_trash, parts_in_the_trash, trashed_whole
from admin_app.core.soft_delete_view import DeletedFilter, has_soft_delete, shows_deleted
from admin_app.core.validators import parse_id, parse_ids, without_nul
from admin_app.extensions import db

log = logging.getLogger(__name__)

#: Filled by the audit package: each gives " by <who> at <when> (<what>)" for a record's
#: latest change, or "" (the core names no domain).
LATEST_CHANGE_DESCRIBERS: list[Callable[[Any], str]] = []
#: Who takes a list's export that is too big to download at once (``exports.views`` adds
#: the task queue's; with none, every export downloads at once).
EXPORT_JOB_STARTERS: list[Callable[[Any, str], Any]] = []

#: Labels of the columns many models share; a view's own ``column_labels`` win.
COMMON_LABELS = {"id": _l("ID"), "version_id": _l("Version"), "created_at": _l("Created"),
                 "updated_at": _l("Updated"), "deleted_at": _l("Deleted")}

#: The page sizes an employee may choose (My account) and a list page offers.
PAGE_SIZES = (20, 50, 100)

READ_ROLES = ROLES
WRITE_ROLES = ("admin", "staff")
ADMIN_ONLY = ("admin",)

# Lists count at most this many rows; past it the page shows "1,000+" (or, on PostgreSQL,
# the planner's estimate for an unfiltered list). Counting costs ~40 ns a row on SQLite:
# a cap of 10,000 was the most expensive statement of a list's first page.
COUNT_CAP = 1_000
# Stands for a row's id in the row buttons, which a list page renders only once; random,
# so that no search term in the buttons' return URL can look like it.
ROW_ID_PLACEHOLDER = f"__row_{secrets.token_hex(8)}__"
# ``url_for`` arguments that are not query parameters, and the characters werkzeug leaves
# unquoted in a query string (so list URLs come out exactly as ``url_for`` makes them).
URL_FOR_OPTIONS = frozenset({"_external", "_anchor", "_method", "_scheme"})
URL_SAFE = "!$'()*,/:;?@"
XLSX_MIMETYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Flask-Admin view methods that change data; every other exposed method only reads. The
# look-ups (``ajax_lookup``) serve the forms' pick lists, which only writers see: a viewer
# has no business listing, say, every employee's name through them.
WRITE_METHODS = frozenset({"create_view", "edit_view", "ajax_update", "restore_view", "purge_view", "ajax_lookup"})
# Flask-Admin's return address: every view reads it through
# ``flask_admin.helpers.get_redirect_target``, from ``request.values``.
RETURN_URL_PARAMETER = "url"
# Actions that only make sense for models with soft delete, and who may use them. They are
# the only actions that take rows in the trash, and are offered only where the list shows them.
SOFT_DELETE_ACTIONS = {"restore": WRITE_ROLES, "purge": ADMIN_ONLY}


def signed_in_user() -> Any | None:
    """The request's user (an employee or Flask-Login's anonymous user), looked up once:
    every attribute read through ``current_user`` looks it up again."""
    return current_user._get_current_object() if has_request_context() else None


def current_role() -> str | None:
    """The signed-in, active employee's role, or None (asked dozens of times per page)."""
    user = signed_in_user()
    if user is not None and user.is_authenticated and getattr(user, "is_active", False):
        return user.role
    return None


def drop_unsafe_return_url() -> None:
    """Forget a ``url=`` return address that is not a path on this site, so every view
    falls back to its list. Flask-Admin's own check (``is_safe_url``) follows
    ``http:/evil.example`` and ``http:evil.example`` to another site; its views read the
    address from ``request.values`` (details, edit, create, delete, actions, save), so
    clearing it there once, before the view runs, covers them all. The links a page
    builds from it (``return_url``) then point at the list too."""
    target = request.values.get(RETURN_URL_PARAMETER)
    if target is None or is_same_site_path(target):
        return
    log.info("ignored an off-site return address on %s", request.path)
    args, form = MultiDict(request.args), MultiDict(request.form)
    args.poplist(RETURN_URL_PARAMETER)
    form.poplist(RETURN_URL_PARAMETER)
    # Werkzeug caches these (cached_property); setting one replaces it for this request.
    request.args = ImmutableMultiDict(args)
    request.values = CombinedMultiDict([ImmutableMultiDict(args), ImmutableMultiDict(form)])


class RoleAccessMixin(adapter.ViewHooks):
    """Roles per view: ``read_roles`` may look, ``write_roles`` may change. Every view also
    ignores an off-site return address (:func:`drop_unsafe_return_url`)."""

    read_roles: tuple[str, ...] = READ_ROLES
    write_roles: tuple[str, ...] = WRITE_ROLES
    #: Actions for fewer roles than ``write_roles`` (e.g. ``{"anonymise": ADMIN_ONLY}``).
    action_roles: dict[str, tuple[str, ...]] = {}

    def is_accessible(self) -> bool:
        return current_role() in self.read_roles

    def can_write(self) -> bool:
        return current_role() in self.write_roles

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(403)

    def before_view(self, name: str, **kwargs: Any) -> Any:
        drop_unsafe_return_url()
        if name in WRITE_METHODS and not self.can_write():
            abort(403)
        if name == "delete_view" and not getattr(self, "can_delete", False):
            abort(403)
        if name == "action_view" and not self.is_action_allowed(request.form.get("action", "")):
            abort(403)
        return None

    def is_action_allowed(self, name: str) -> bool:
        if name == "delete":
            return self.can_delete
        if name in SOFT_DELETE_ACTIONS:
            return current_role() in SOFT_DELETE_ACTIONS[name] and super().is_action_allowed(name)  # type: ignore[misc]
        if name in self.action_roles:
            return current_role() in self.action_roles[name] and super().is_action_allowed(name)  # type: ignore[misc]
        return self.can_write() and super().is_action_allowed(name)  # type: ignore[misc]


def refuse_new_references_to_deleted(record: Any) -> None:
    """A form may keep pointing at a deleted record (an old order's product) but may not
    newly pick one (a new order item for a deleted product), here or in its inline rows."""
    state = sa_inspect(record)
    for relationship in state.mapper.relationships:
        if relationship.direction is MANYTOONE:
            for target in state.attrs[relationship.key].history.added:
                if target is not None and getattr(target, "is_deleted", False):
                    raise ValidationError(_("%(record)s is deleted and cannot be chosen as %(field)s.",
                                            record=target, field=relationship.key))
        elif relationship.direction is ONETOMANY and relationship.cascade.save_update:
            for child in _changed_children(state, relationship.key):
                refuse_new_references_to_deleted(child)


def _changed_children(state: Any, key: str) -> Iterator[Any]:
    """The new or changed members of a loaded collection (inline rows), not of its own kind."""
    for child in state.dict.get(key) or ():  # only collections already loaded
        if child is not None and not isinstance(child, state.class_):
            child_state = sa_inspect(child)
            if child_state.pending or child_state.modified:
                yield child


def forget_submitted_values(form: Any) -> None:
    """Fields render what was typed (``raw_data``) before their data; drop it so a form
    re-filled from the database shows the database's values."""
    for field in form:
        field.raw_data = None
        for entry in getattr(field, "entries", ()):  # inline rows
            entry.raw_data = None
            if isinstance(getattr(entry, "form", None), BaseForm):
                forget_submitted_values(entry.form)


def blank_strings_to_none(record: Any) -> None:
    """An empty optional text field means "no value": store NULL, as the record had, so an
    untouched field is not recorded as a change from nothing to an empty string."""
    for attribute in sa_inspect(type(record)).column_attrs:
        column = attribute.columns[0]
        if (isinstance(column, Column) and column.nullable and isinstance(column.type, String)
                and getattr(record, attribute.key, None) == ""):
            setattr(record, attribute.key, None)


class CappedCount(int):
    """A row count that stopped counting: shown as "1,000+"."""

    def __str__(self) -> str:
        return f"{format_number(COUNT_CAP)}+"


class EstimatedCount(int):
    """The database planner's estimate of a big table's rows: shown as "about 1,000,000"."""

    def __str__(self) -> str:
        return _("about %(count)s", count=format_number(int(self)))


def record_kind(record_or_model: Any) -> str:
    """``Order item`` for an ``OrderItem`` (or its class, or its class name), in the employee's
    language where the model names itself (``kind_label``)."""
    if isinstance(record_or_model, str):
        model = next((m.class_ for m in db.Model.registry.mappers if m.class_.__name__ == record_or_model), None)
        name = record_or_model
    else:
        model = record_or_model if isinstance(record_or_model, type) else type(record_or_model)
        name = model.__name__
    label = getattr(model, "kind_label", None)
    return str(label) if label is not None else re.sub(r"(?<!^)(?=[A-Z])", " ", name).capitalize()


@dataclass
class BulkReport:
    """What a bulk action did: the rows it changed, and those it refused with the reason."""

    done: list[Any] = dataclass_field(default_factory=list)
    refused: list[tuple[Any, str]] = dataclass_field(default_factory=list)


class ShopBaseView(RoleAccessMixin, BaseView):
    """A non-model page of the back office (dashboard, my account)."""


class ShopModelView(RoleAccessMixin, ModelView):
    """The base of every model view in the back office."""

    can_view_details = True
    can_set_page_size = True
    page_size_options = PAGE_SIZES
    can_export = True
    filter_converter = ShopFilterConverter()
    model_form_converter = ShopModelConverter
    # Internals stay off the details page (the trash has its own page); times read as the
    # lists write them: the employee's zone and locale, no seconds or offset.
    column_details_exclude_list = ("version_id", "deleted_at")
    column_type_formatters_detail = {**typefmt.DETAIL_FORMATTERS,
                                     datetime: lambda view, value, name: format_datetime(value)}
    create_template = "admin/shop_create.html"
    edit_template = "admin/shop_edit.html"
    details_template = "admin/shop_details.html"
    list_template = "admin/shop_list.html"
    search_hint: Any = None  # the search box's placeholder in words (Flask-Admin would list field names)
    date_presets: tuple[str, ...] = ()  # date columns filtered by period (core.quick_filters)
    quick_filters: tuple[str, ...] = ()  # columns whose choices are links above the list
    quick_filter_counts: tuple[str, ...] = ()  # of those, the indexed ones shown with counts

    def __init__(self, model: Any, *args: Any, **kwargs: Any) -> None:
        # Ajax look-ups leave deleted records out themselves (validators.LookupLoader).
        self.soft_delete = has_soft_delete(model)
        # The columns every model has, labelled once (Flask-Admin would show "Version Id").
        self.column_labels = {**COMMON_LABELS, **(self.column_labels or {})}
        super().__init__(model, *args, **kwargs)

    def search_placeholder(self) -> str | None:
        return str(self.search_hint) if self.search_hint else super().search_placeholder()

    # Buttons follow the role, and the same check guards the URLs in _handle_view.
    @property
    def can_create(self) -> bool:  # type: ignore[override]
        return self.can_write()

    @property
    def can_edit(self) -> bool:  # type: ignore[override]
        return self.can_write()

    @property
    def can_delete(self) -> bool:  # type: ignore[override]
        return self.can_write()

    @property
    def page_size(self) -> int:  # type: ignore[override]
        """The signed-in employee's preferred page size."""
        preferred = None
        user = signed_in_user()
        if user is not None and user.is_authenticated:
            preferred = user.preferences.get("page_size")
        return preferred if preferred in PAGE_SIZES else PAGE_SIZES[0]

    @staticmethod
    def ids_from(ids: list[str]) -> list[int]:
        """Row ids posted by a bulk action, as integers (PostgreSQL will not compare
        an integer column with the strings the form sends: Flask-Admin issue 2951)."""
        return parse_ids(ids)

    # -- bulk actions: one transaction each, rows in the trash refused ------------------
    # (Shared by every action of every view: a view's action only says what to do to one
    # row, through bulk_apply, and reports with flash_report.)

    def primary_key_attribute(self) -> Any:
        # The mapped attribute, not the table column: it keeps single-table inheritance's
        # type criterion (customers and employees share ``users``).
        return getattr(self.model, self.model.__mapper__.primary_key[0].key)

    def selected_rows(self, ids: list[str]) -> list[Any]:
        """The selected rows a bulk action may change (the trash rule leaves the others
        out), by id."""
        primary_key = self.primary_key_attribute()
        return list(db.session.scalars(select(self.model).where(primary_key.in_(self.ids_from(ids)))
                                       .order_by(primary_key)))

    def selected_rows_in_the_trash(self, ids: list[str]) -> list[tuple[Any, Any]]:
        """The selected rows that are in the trash, or parts of a record in it, each with
        that record: actions other than Restore and Purge name and refuse them."""
        primary_key = self.primary_key_attribute()
        # A part's whole in the same statement (an order item's order), not one query per row.
        wholes = [joinedload(getattr(self.model, parts.back_populates)) for parts in parts_in_the_trash()
                  if parts.mapper.class_ is self.model]
        rows = db.session.scalars(select(self.model).where(primary_key.in_(self.ids_from(ids))).options(*wholes)
                                  .order_by(primary_key).execution_options(include_deleted=True))
        return [(row, whole) for row in rows if (whole := trashed_whole(row)) is not None]

    def row_label(self, row: Any) -> str:
        """``#12 (Zanzibar lamp)``, or ``#12`` where the record's name already says it."""
        key = self.get_pk_value(row)
        text = str(row)
        return f"#{key}" if text.endswith(f"#{key}") else f"#{key} ({text})"

    def _refusing_the_trash(self, handler: Callable[[list[str]], Any]) -> Callable[[list[str]], Any]:
        """``handler`` (a bulk action) given only the selected rows outside the trash; the
        others are named in a warning."""

        @wraps(handler)
        def run(ids: list[str]) -> Any:
            trashed = self.selected_rows_in_the_trash(ids)
            if trashed:
                records = "; ".join(self.row_label(row) + ("" if whole is row else _(" with %(whole)s", whole=whole))
                                    for row, whole in trashed)
                flash(ngettext("%(num)d record left unchanged, in the trash: %(records)s. Restore it first.",
                               "%(num)d records left unchanged, in the trash: %(records)s. Restore them first.",
                               len(trashed), records=records), "warning")
                refused = {str(self.get_pk_value(row)) for row, _whole in trashed}
                ids = [str(i) for i in self.ids_from(ids) if str(i) not in refused]
            return handler(ids) if self.ids_from(ids) else None

        return run

    def bulk_apply(self, ids: list[str], change: Callable[[Any], str | None]) -> BulkReport:
        """Apply ``change`` to each selected row, all in one transaction. ``change`` returns
        a reason to refuse a row (and leaves it as it was) or None; the rows it accepts
        commit together. A database error at the commit rolls back every row
        (``handle_action`` reports it)."""
        report = BulkReport()
        for row in self.selected_rows(ids):
            reason = change(row)
            if reason:
                report.refused.append((row, reason))
            else:
                report.done.append(row)
        db.session.commit()
        return report

    def flash_report(self, report: BulkReport, done: Callable[[int, str], str]) -> None:
        """``2 records deleted: #3 (...), #4 (...).`` (``done(count, records)`` words it) and
        ``1 record left unchanged: #5 (why).``"""
        if report.done:
            flash(done(len(report.done), ", ".join(map(self.row_label, report.done))), "success")
        if report.refused:
            flash(ngettext("%(num)d record left unchanged: %(records)s.",
                           "%(num)d records left unchanged: %(records)s.", len(report.refused),
                           records="; ".join(f"{self.row_label(row)} ({why})" for row, why in report.refused)),
                  "warning")

    @action("delete", _l("Delete"), _l("Are you sure you want to delete the selected records?"))
    def action_delete(self, ids: list[str]) -> None:
        """Every selected record in one transaction (soft delete where the model has it);
        those ``on_model_delete`` refuses are reported with its reason."""

        def delete(row: Any) -> str | None:
            # A model's own rule (an order's life cycle) names each refused row here; the
            # flush enforces the same rule on every other path.
            deletion_problem = getattr(row, "deletion_problem", None)
            if deletion_problem is not None and (problem := deletion_problem()):
                return problem
            try:
                self.on_model_delete(row)
            except ValidationError as refusal:
                return str(refusal)
            if self.soft_delete:
                row.soft_delete()
            else:
                db.session.delete(row)
            return None

        report = self.bulk_apply(ids, delete)
        for row in report.done:
            self.after_model_delete(row)
        self.flash_report(report, lambda num, records: ngettext(
            "%(num)d record deleted: %(records)s.", "%(num)d records deleted: %(records)s.", num, records=records))

    # -- soft delete --------------------------------------------------------------------

    def init_actions(self) -> None:
        super().init_actions()
        if not self.soft_delete:
            adapter.keep_actions(self, lambda name: name not in SOFT_DELETE_ACTIONS)
        # Every other action is given only the selected rows outside the trash.
        if self.soft_delete or any(parts.mapper.class_ is self.model for parts in parts_in_the_trash()):
            adapter.wrap_actions(self, lambda name, handler: handler if name in SOFT_DELETE_ACTIONS
                                 else self._refusing_the_trash(handler))

    def get_actions_list(self) -> Any:
        """Restore and Purge only where the list shows rows in the trash (the Deleted
        filter); with "Deleted only", nothing else (every other action would refuse)."""
        actions, confirmations = super().get_actions_list()
        actions = sorted(actions, key=lambda pair: (self.action_group(pair[0]), self.declared_actions.index(pair[0])))
        shown = shows_deleted(self, adapter.list_extra_args(self).filters) if self.soft_delete else None
        if shown is None:
            actions = [(n, t) for n, t in actions if n not in SOFT_DELETE_ACTIONS]
        elif shown == DeletedFilter.ONLY:
            actions = [(n, t) for n, t in actions if n in SOFT_DELETE_ACTIONS]
        return actions, {n: c for n, c in confirmations.items() if n in dict(actions)}

    @staticmethod
    def action_group(name: str) -> int:
        """Bulk actions in workflow order: the view's own steps, then the trash's, Delete
        last (``templates/admin/actions.html`` separates the groups)."""
        return 2 if name == "delete" else 1 if name in SOFT_DELETE_ACTIONS else 0

    @cached_property
    def declared_actions(self) -> list[str]:
        """Action names in the order the classes declare them, the view's own first
        (Flask-Admin collects them alphabetically)."""
        return adapter.declared_actions(type(self))

    def get_filters(self) -> Any:
        filters = list(super().get_filters() or [])
        filters += [DatePresetFilter(getattr(self.model, n), self.get_column_name(n)) for n in self.date_presets]
        if getattr(self, "soft_delete", False):
            filters.append(DeletedFilter(self.model.deleted_at))
        return filters or None

    def get_invalid_value_msg(self, value: str, filter: Any) -> str:
        # Choice filters refuse any other value, and the message goes into the session
        # cookie: a long one (a hostile URL) would overflow it.
        return super().get_invalid_value_msg(value if len(value) <= 80 else value[:79] + "…", filter)

    def quick_filter_groups(self) -> list[Any]:
        return quick_filter_groups(self)

    # -- the list: search, count and paging that stay fast on big tables -----------------

    def get_list(self, page: Any, sort_column: Any, sort_desc: Any, search: Any, filters: Any,
                 execute: bool = True, page_size: Any = None) -> Any:
        """Flask-Admin's list query, reshaped so a page costs the same on a million rows.

        - The count is capped (or, on PostgreSQL, estimated for big unfiltered tables) and
          the page says so ("1,000+", "about 1,000,000"): no full ``COUNT(*)``.
        - The page's ids come from a lean, index-ordered subquery, and only those rows are
          loaded with their joins, in the same statement: deep pages never join customers
          for rows the offset skips.
        - ``execute=False`` (exports) returns the whole filtered, sorted query.
        """
        # The Deleted filter is the list's one way into the trash (the trash rule's opt-out).
        with_trash = {"include_deleted": shows_deleted(self, filters) is not None}
        search = self.list_search(search, say_what_was_left_out=execute)  # the export does not say it again
        query, count_query = self.list_queries(search, filters, sort_column, sort_desc, with_trash)
        if not execute:
            return None, query
        page_size = self.page_size if page_size is None else page_size
        # A forged ?page=-1 or ?page=99999999999999999999 reads as the nearest real page.
        page = min(max(page or 0, 0), MAX_INTEGER // max(page_size or 1, 1))
        count = self.row_count(count_query, narrowed=bool(search or filters), page=page or 0,
                               page_size=page_size)
        primary_key = self.primary_key_attribute()
        page_ids = adapter.apply_pagination(self, query, page, page_size).with_entities(primary_key)
        rows, _joins = adapter.apply_sorting(self, self.get_query().filter(primary_key.in_(page_ids.statement))
                                             .execution_options(**with_trash), {}, sort_column, sort_desc)
        loads = [joinedload(join) for join in adapter.auto_joins(self)]
        return count, rows.order_by(primary_key.desc()).options(*loads).all()

    @staticmethod
    def list_search(search: str | None, say_what_was_left_out: bool) -> str | None:
        """The search as the list runs it: without NUL (PostgreSQL cannot compare text
        holding it), limited in words and length (saying so on the page)."""
        search = without_nul(search)
        if not search:
            return search
        limited = limit_search(search)
        if limited.dropped and say_what_was_left_out:
            flash(limited.message(), "warning")
        return limited.text

    def list_queries(self, search: str | None, filters: Any, sort_column: Any, sort_desc: Any,
                     with_trash: dict[str, bool]) -> tuple[Any, Any]:
        """The list's rows (searched, filtered, in a total order) and their count query."""
        query = self.get_query().execution_options(**with_trash)
        count_query, joins, count_joins = self.get_count_query().execution_options(**with_trash), {}, {}
        if adapter.search_supported(self) and search:
            query, count_query = self.apply_search(query, count_query, search)
        if filters and adapter.active_filters(self):
            query, count_query, joins, count_joins = adapter.apply_filters(self, query, count_query, joins,
                                                                           count_joins, filters)
        query, joins = adapter.apply_sorting(self, query, joins, sort_column, sort_desc)
        # A total order: pages never overlap.
        return query.order_by(self.primary_key_attribute().desc()), count_query

    def get_url(self, endpoint: str, **kwargs: Any) -> str:
        """``url_for``, except that the list's own URL (which a list page builds for every
        sort link, page link and page size) routes once per request and only its query
        string is built each time; the same URL ``url_for`` gives."""
        if endpoint != ".index_view" or kwargs.keys() & URL_FOR_OPTIONS:
            return super().get_url(endpoint, **kwargs)
        paths = g.setdefault("list_paths", {})
        if self.endpoint not in paths:
            paths[self.endpoint] = url_for(f"{self.endpoint}.index_view")
        query = urlencode([(key, value) for key, value in kwargs.items() if value is not None], safe=URL_SAFE)
        return f"{paths[self.endpoint]}?{query}" if query else paths[self.endpoint]

    def render(self, template: str, **kwargs: Any) -> Any:
        if template == self.list_template:
            kwargs.update(list_rows=self.list_rows, row_id_placeholder=ROW_ID_PLACEHOLDER)
            # The trash is shown by the Live / In the trash / All switch alone (quick filters),
            # not offered again under "Add filter" with a "show" operator.
            kwargs.update(adapter.hide_from_filter_menu(self, kwargs, lambda flt: isinstance(flt, DeletedFilter)))
        return super().render(template, **kwargs)

    @pass_context
    def list_rows(self, context: Any, data: list[Any]) -> Iterator[tuple[str, Markup]]:
        """Each row's id, its formatted, escaped cells as one piece of markup (what
        Flask-Admin's list template builds with a macro call per cell, in one loop), and its
        trash badge (None for a live row)."""
        cells = [self._list_cell(context, name) for name, _label in adapter.list_columns(self)]
        for row in data:
            yield str(self.get_pk_value(row)), Markup("".join([cell(row) for cell in cells])), self.trash_badge(row)

    def trash_badge(self, row: Any) -> Markup | None:
        """A row in the trash (the Deleted filter shows them) says so, with its deletion
        date; the list then gives it only the row actions :meth:`allowed_in_the_trash`."""
        deleted_at = getattr(row, "deleted_at", None) if self.soft_delete else None
        if deleted_at is None:
            return None
        return Markup('<span class="badge badge-warning trash-badge">%s</span>') % _(
            "deleted %(date)s", date=format_datetime(deleted_at))

    @staticmethod
    def allowed_in_the_trash(row_action: Any) -> bool:
        """A row in the trash is looked at (its page offers Restore), never edited or deleted again."""
        return isinstance(row_action, (ViewRowAction, ViewPopupRowAction))

    def _list_cell(self, context: Any, name: str) -> Callable[[Any], str]:
        """One column's ``<td>`` for a row: Flask-Admin's ``_get_list_value`` (the column's
        formatter or value, its choices, else the first type formatter that fits the value),
        with the per-column lookups made once and the type formatter found once per type."""
        opening = f'<td class="col-{escape(name)}">'
        column_formatter = self.column_formatters.get(name)
        choices = adapter.column_choices(self, name)
        type_formatters = self.column_type_formatters
        formatter_for_type: dict[type, Any] = {}

        def cell(row: Any) -> str:
            value = (column_formatter(self, context, row, name) if column_formatter is not None
                     else adapter.field_value(self, row, name))
            if choices:
                value = choices.get(value) or value
            else:
                kind = type(value)
                if kind not in formatter_for_type:
                    formatter_for_type[kind] = next(
                        (formatter for base, formatter in type_formatters.items() if isinstance(value, base)), None)
                if formatter_for_type[kind] is not None:
                    value = formatter_for_type[kind](self, value, name)
            return f"{opening}{escape(value)}</td>"

        return cell

    def row_count(self, count_query: Any, narrowed: bool, page: int, page_size: int) -> int:
        """How many rows the list has, as cheaply as the page can say it honestly: never
        a full ``COUNT(*)``. One statement: a count that stops past ``COUNT_CAP`` and, on
        PostgreSQL for an unfiltered list, the planner's estimate of the table's size."""
        capped = select(func.count()).select_from(
            count_query.with_entities(literal_column("1")).limit(COUNT_CAP + 1).subquery()
        ).scalar_subquery()
        estimate = literal_column("NULL")
        if not narrowed and db.engine.dialect.name == "postgresql":
            # The table name comes from the model, never from the request.
            estimate = literal_column(
                f"(SELECT reltuples::bigint FROM pg_class WHERE oid = '{self.model.__table__.name}'::regclass)")
        # The count query is only a subquery here: its Deleted filter option goes on this statement.
        with_trash = {"include_deleted": bool(count_query.get_execution_options().get("include_deleted"))}
        counted, estimated = db.session.execute(select(capped, estimate).execution_options(**with_trash)).one()
        if counted <= COUNT_CAP:
            return counted
        if estimated and estimated > COUNT_CAP:
            return EstimatedCount(estimated)
        # Keep the pager working on pages past the cap (the URL may name any page).
        return CappedCount(max(COUNT_CAP, (page + 2) * (page_size or 1)))

    def apply_search(self, query: Any, count_query: Any, search: str) -> tuple[Any, Any]:
        """The export specification's search (:func:`search_clause`), the same for the list,
        its export and ``manage.py export``."""
        spec = self.export_spec()
        condition = search_clause(spec.model, spec.search_columns, search)
        if condition is not None:
            query = query.filter(condition)
            count_query = count_query.filter(condition) if count_query is not None else None
        return query, count_query

    def get_one(self, id: Any) -> Any:
        """The record, unless it is in the trash (the trash rule): Flask-Admin's edit,
        details and delete views then find nothing (see ``_handle_view`` for what the first
        two show instead)."""
        record_id = parse_id(id)
        if record_id is None:
            return None
        return db.session.get(self.model, record_id, options=self.record_load_options)

    #: Loader options for a single record's edit and detail pages (e.g. inline rows and
    #: what they show), so a form with many rows loads them in a fixed number of queries.
    record_load_options: tuple[Any, ...] = ()

    def before_view(self, name: str, **kwargs: Any) -> Any:
        refused = super().before_view(name, **kwargs)
        if refused is not None:
            return refused
        if self.soft_delete and name in ("edit_view", "details_view") and self.get_one(request.args.get("id")) is None:
            in_trash = self._records_in_the_trash([request.args.get("id", "")])
            if in_trash:
                return self.deleted_page(in_trash[0])
        return None

    def deleted_page(self, record: Any) -> Any:
        """What a deleted record's edit or detail URL shows: that it is in the trash, and
        the way out (Restore; Purge for admins)."""
        return self.render("admin/deleted_record.html", record=record,
                           can_restore=self.is_action_allowed("restore"),
                           can_purge=self.is_action_allowed("purge")), 410

    def delete_model(self, model: Any) -> bool:
        if not self.soft_delete:
            return super().delete_model(model)
        try:
            self.on_model_delete(model)
            model.soft_delete()
            db.session.commit()
        except Exception as exc:  # reported to the user by handle_view_exception
            db.session.rollback()
            self.handle_view_exception(exc)
            return False
        self.after_model_delete(model)
        return True

    def _records_in_the_trash(self, ids: list[str]) -> list[Any]:
        """The selected records that are in the trash (restore, purge), by id."""
        return [record for record in trash.load_with_trash(self.model, self.ids_from(ids)) if in_the_trash(record)]

    @expose("/restore/", methods=["POST"])
    def restore_view(self) -> Any:
        if not self.soft_delete or not self.is_action_allowed("restore"):
            abort(403)
        record_id = request.form.get("id", "")
        try:
            restored = self._restore([record_id])
        except DataRuleError as refused:  # e.g. too few units left for a restored order
            db.session.rollback()
            flash(_("Not restored: %(why)s", why=refused.message), "error")
            return redirect(self.get_url(".edit_view", id=record_id))
        if not restored:
            abort(404)
        return redirect(self.get_url(".edit_view", id=record_id))

    def _restore(self, ids: list[str]) -> int:
        rows = trash.restore(self._records_in_the_trash(ids))
        db.session.commit()
        if rows:
            flash(ngettext("%(num)d record restored: %(records)s.", "%(num)d records restored: %(records)s.",
                           len(rows), records=", ".join(str(r) for r in rows)), "success")
        return len(rows)

    @action("restore", _l("Restore"), _l("Restore the selected records?"))
    def action_restore(self, ids: list[str]) -> None:
        if not self._restore(ids):
            flash(_("Nothing to restore: none of the selected records is deleted."), "warning")

    @action("purge", _l("Purge permanently"), None)
    def action_purge(self, ids: list[str]) -> Any:
        """Nothing is removed yet: the confirmation page lists what would be."""
        return redirect(self.get_url(".purge_view", id=[str(i) for i in self.ids_from(ids)]))

    @expose("/purge/", methods=["GET", "POST"])
    def purge_view(self) -> Any:
        """GET: everything a purge of the given records would remove for good, nested, and
        what blocks it (Django's delete confirmation). POST: the purge, in one transaction."""
        if not self.soft_delete or not self.is_action_allowed("purge"):
            abort(403)
        records = trash.load_with_trash(self.model, self.ids_from(request.values.getlist("id")))
        if request.method == "GET":
            plan = trash.purge_plan(records)
            return self.render("admin/purge_confirm.html", plan=plan, record_url=self.record_url, kind=record_kind,
                               model_name=self.name or self.model.__name__)
        try:
            report = trash.purge(records)
            db.session.commit()
        except (IntegrityError, StaleDataError) as exc:
            db.session.rollback()
            log.warning("purge on %s failed: %s", self.endpoint, exc)
            flash(_("Nothing was purged: some of these records were restored or newly referred to by other "
                    "records at the same moment. Review them again."), "error")
            return redirect(self.get_url(".purge_view", id=request.values.getlist("id")))
        self.flash_purge_report(report)
        return redirect(self.get_url(".index_view"))

    def flash_purge_report(self, report: trash.PurgeReport) -> None:
        if report.purged:
            flash(ngettext("%(num)d record permanently removed: %(records)s.",
                           "%(num)d records permanently removed: %(records)s.", len(report.purged),
                           records=", ".join(self.row_label(item.record) for item in report.purged)), "success")
        if report.blocked:
            flash(ngettext("%(num)d record not removed, because other records still refer to it: %(records)s. "
                           "Change or remove those records first.",
                           "%(num)d records not removed, because other records still refer to them: %(records)s. "
                           "Change or remove those records first.", len(report.blocked),
                           records=", ".join(self.row_label(item.record) for item in report.blocked)), "error")
        if report.not_in_trash:
            flash(ngettext("Only records in the trash can be purged: %(records)s is not deleted.",
                           "Only records in the trash can be purged: %(records)s are not deleted.",
                           len(report.not_in_trash),
                           records=", ".join(self.row_label(record) for record in report.not_in_trash)), "warning")

    @staticmethod
    def record_url(record: Any) -> str | None:
        """The detail page of any record (one in the trash shows that it is), for the
        confirmation page's links; every model view has the model's name as its endpoint."""
        try:
            return url_for(f"{type(record).__name__.lower()}.details_view", id=record.id)
        except BuildError:
            return None

    # -- exports ------------------------------------------------------------------------

    export_types = ["csv", "xlsx"]

    def export_spec(self) -> ExportSpec:
        """The columns this view exports (shared with ``manage.py export``)."""
        return EXPORTS[self.endpoint]

    def export_statement(self, spec: ExportSpec) -> Any:
        """Exactly the list's rows: its search, filters and sort, every page, as one statement.

        The engine's statement, with a search or filter restricted to ``id IN (<the list's
        query>)`` (the spec's search, Flask-Admin's filters and its soft-delete rule, which
        the Deleted filter lifts); without, to live rows; in the list's order.
        """
        view_args = adapter.list_extra_args(self)
        extra_where: list[Any] = []
        narrowed = bool(view_args.search) or bool(view_args.filters)
        with_trash = shows_deleted(self, view_args.filters) is not None
        if narrowed:
            primary_key = self.model.__mapper__.primary_key[0]
            _count, query = self.get_list(0, None, False, view_args.search, view_args.filters,
                                          execute=False, page_size=0)
            ids = query.with_entities(primary_key).order_by(None).statement.correlate(None)
            extra_where.append(primary_key.in_(ids))
        statement = build_statement(spec, extra_where=extra_where, order_by=self.export_order_by(view_args) or None)
        # Read through the session, so the trash rule applies as on the list; only the
        # Deleted filter (which the list's query then carries) lets the trash in.
        return statement.execution_options(include_deleted=with_trash)

    def export_order_by(self, view_args: Any) -> list[Any]:
        """The list's sort (or ``column_default_sort``) as the engine's sort keys:
        ``user.username`` is sorted through the export's joined alias."""
        sort = adapter.sort_column_by_index(self, view_args.sort)
        sortable = adapter.sortable_column(self, sort[0]) if sort else None
        if sortable is None:
            return [self._export_sort_key(field, joins, bool(descending))
                    for field, joins, descending in adapter.default_order(self)]
        fields, joins = sortable
        if not isinstance(fields, list):
            fields, joins = [fields], [joins]
        return [self._export_sort_key(field, join, bool(view_args.sort_desc))
                for field, join in zip(fields, joins or [None] * len(fields), strict=True)]

    def _export_sort_key(self, field: Any, joins: Any, descending: bool) -> Any:
        """A Flask-Admin sort field (attribute, column, or one reached through ``joins``)
        as a ``(path, descending)`` pair, or as a clause if it is no attribute path."""
        key = getattr(field, "key", None)
        if joins:
            return (".".join([join.key for join in joins] + [key]), descending)
        if isinstance(field, str):
            return (field, descending)
        if key is not None and hasattr(self.model, key):
            return (key, descending)
        return field.desc() if descending else field.asc()

    @expose("/export/<export_type>/")
    def export(self, export_type: str) -> Any:
        if not self.can_export or export_type not in self.export_types:
            abort(404)
        spec = self.export_spec()
        statement = self.export_statement(spec)
        if EXPORT_JOB_STARTERS and self.export_is_big(statement):
            return EXPORT_JOB_STARTERS[0](self, export_type)
        # The generator pushes its own app context: it runs after this request's is gone.
        rows = iter_rows(statement)
        # Only the header row is in the employee's language, read now: the body streams after
        # this request is gone, and is the same in every language.
        headers = [column.header for column in spec.columns]
        filename = f"{self.endpoint}-{utcnow():%Y%m%d-%H%M}"
        if export_type == "csv":
            return Response(csv_stream(rows, spec.columns, headers=headers), content_type="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'})
        workbook = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
        # Only a small export downloads at once (``export_is_big``): no cap but Excel's own.
        result = xlsx_write(rows, spec.columns, workbook, sheet_title=str(self.name or self.endpoint), headers=headers)
        workbook.seek(0)
        response = send_file(workbook, mimetype=XLSX_MIMETYPE, as_attachment=True,
                             download_name=f"{filename}.xlsx")
        if result.truncated:
            response.headers["X-Export-Truncated"] = str(result.rows_written)
        return response

    def export_is_big(self, statement: Any) -> bool:
        """Whether the export runs as a job: its rows, counted as the list counts them (up to
        ``COUNT_CAP``), are more than ``EXPORT_DIRECT_MAX_ROWS`` or more than the count goes."""
        limit = min(int(current_app.config.get("EXPORT_DIRECT_MAX_ROWS", 10_000)), COUNT_CAP)
        rows = statement.order_by(None).limit(limit + 1).subquery()
        counted = db.session.scalar(select(func.count()).select_from(rows)
                                    .execution_options(**statement.get_execution_options()))
        return bool(counted and counted > limit)

    # -- history and concurrent edits --------------------------------------------------

    def record_heading(self, record: Any) -> str | None:
        """The heading and title of a record's edit and details pages; None: the view's name."""
        return None

    def history_url(self, record: Any) -> str | None:
        if record is None or current_role() not in ADMIN_ONLY or self.endpoint == "auditlog":
            return None
        return url_for("auditlog.record_history", entity_type=type(record).__name__, entity_id=record.id)

    def scaffold_form(self) -> Any:
        form_class = super().scaffold_form()
        if hasattr(self.model, "version_id"):
            # The version the form was loaded with, so a save over newer data is noticed.
            form_class.loaded_version = HiddenField()
        return form_class

    def edit_form(self, obj: Any = None) -> Any:
        form = super().edit_form(obj)
        if hasattr(form, "loaded_version") and obj is not None and request.method != "POST":
            # Only a form being shown gets the current version: a posted one keeps what it
            # brought (nothing, if it came without one: validate_form refuses it).
            form.loaded_version.data = obj.version_id
        return form

    def validate_form(self, form: Any) -> bool:
        """A form opened before someone else saved the record (or one of its parts: an order's
        item, a customer's address, which move its version) is refused as such first: its
        fields would otherwise be judged against the newer record ("this order can only be
        set to ..."), which hides what really happened. So is a form that arrives without the
        version it was opened with: nothing says what it was opened over."""
        if (hasattr(form, "loaded_version") and request.method == "POST"
                and request.endpoint == f"{self.endpoint}.edit_view"):
            record = self.get_one(request.args.get("id", ""))
            loaded = str(form.loaded_version.data or "")
            if record is not None and not (loaded.isascii() and loaded.isdigit()):
                self.refuse_unversioned_edit(form, record)
                return False
            if record is not None and str(loaded) != str(record.version_id):
                self.refuse_stale_edit(form, record)
                return False
        return super().validate_form(form)

    def handle_action(self, return_view: str | None = None) -> Any:
        """A bulk action that loses a race (a row changed or locked meanwhile) or breaks a rule
        of the data is rolled back and reported, never a 500."""
        try:
            return super().handle_action(return_view)
        except (DataRuleError, StaleDataError, OperationalError, IntegrityError) as exc:
            # One transaction per bulk action: nothing of it is kept.
            db.session.rollback()
            log.warning("bulk action on %s failed: %s", self.endpoint, exc)
            if isinstance(exc, IntegrityError):
                why = describe_integrity_error(exc).message
            elif isinstance(exc, DataRuleError):  # the order life cycle, the trash, ...
                why = exc.message
            else:
                why = _("some of the selected records were changed by someone else at the same moment.")
            flash(_("Nothing was changed: %(why)s Reload the list and try again.", why=why), "error")
        return redirect(get_redirect_target() or self.get_url(".index_view"))

    def refuse_stale_edit(self, form: Any, model: Any) -> None:
        """Someone saved this record (or one of its parts) after the form was opened: keep
        their data, say who changed what and when, show the current values."""
        who = "".join(describe(model) for describe in LATEST_CHANGE_DESCRIBERS)
        self.show_current_values(form, model, _("%(record)s was changed%(who)s since you opened it.",
                                                record=model, who=who))

    def refuse_unversioned_edit(self, form: Any, model: Any) -> None:
        self.show_current_values(form, model, _("The form for %(record)s arrived without the version it was "
                                                "opened with, so it could overwrite changes made since.",
                                                record=model))

    def show_current_values(self, form: Any, model: Any, reason: str) -> None:
        """Refuse a save for ``reason``: the form is re-filled from the database (and its
        version), so the user can make their change again over the current values."""
        flash(_("%(reason)s Your changes were not saved; the form now shows the current values, so you can "
                "make your change again.", reason=reason), "error")
        form.process(formdata=None, obj=model)
        forget_submitted_values(form)
        form.loaded_version.data = model.version_id

    def prepare_save(self, form: Any, model: Any, is_created: bool) -> None:
        """Between the form's values and the commit, on create and edit: the view's
        ``on_model_change``, then the rules every save keeps."""
        self.on_model_change(form, model, is_created)
        blank_strings_to_none(model)
        refuse_new_references_to_deleted(model)
        if not is_created and hasattr(model, "updated_at"):
            # Touch the record so its version moves on every save, even when only a
            # many-to-many field changed (a post's tags write no row of the post). Parts
            # (an order's items, a customer's addresses) move it in the ORM on every path:
            # core.models._one_version_per_whole.
            model.updated_at = utcnow()

    # -- saving, and friendly errors ----------------------------------------------------

    def create_model(self, form: Any) -> Any:
        """Flask-Admin's ``create_model``, except that a failed save is reported with the
        form at hand (:meth:`report_save_error`), so the message lands on its field:
        Flask-Admin's own passes only the exception to ``handle_view_exception``, and the
        form would have to wait in ``flask.g`` (request state shared between hooks)."""
        try:
            model = self.build_new_instance()
            form.populate_obj(model)
            db.session.add(model)
            self.prepare_save(form, model, True)
            db.session.commit()
        except Exception as exc:
            db.session.rollback()
            self.report_save_error(exc, form)
            return False
        self.after_model_change(form, model, True)
        return model

    def update_model(self, form: Any, model: Any) -> Any:
        """Flask-Admin's ``update_model``, reporting a failure with the form (see
        :meth:`create_model`). A stale form was refused in validate_form; a save that races
        another one past that point fails on version_id_col (StaleDataError)."""
        try:
            form.populate_obj(model)
            self.prepare_save(form, model, False)
            db.session.commit()
        except Exception as exc:
            db.session.rollback()
            self.report_save_error(exc, form)
            return False
        self.after_model_change(form, model, False)
        return True

    def handle_view_exception(self, exc: Exception) -> bool:
        """Failures Flask-Admin reports itself (deleting a record, a view's own error)."""
        return self.report_save_error(exc)

    def report_save_error(self, exc: Exception, form: Any = None) -> bool:
        """A constraint violation or a broken rule of the data becomes a message, on its
        field when the ``form`` has it (Flask-Admin rolls back)."""
        if isinstance(exc, IntegrityError):
            friendly = describe_integrity_error(exc)
            log.info("integrity error on %s: %s", self.endpoint, exc.orig)
            show_on_field(form, friendly.field, friendly.message)
            flash(friendly.message, "error")
            return True
        if isinstance(exc, DataRuleError):  # the order life cycle, the trash, the stock ...
            show_rule_error(form, exc)
            flash(exc.message, "error")
            return True
        if isinstance(exc, StaleDataError):
            flash(_("This record was changed by someone else while you were saving. Your changes were not "
                    "saved; reload the page to see the current values."), "error")
            return True
        if isinstance(exc, ValidationError):
            return super().handle_view_exception(exc)
        # Anything else: log it whole, tell the user plainly (no SQL, no stack trace).
        log.exception("could not save %s", self.endpoint)
        flash(_("The record could not be saved. Nothing was changed; please try again."), "error")
        return True


def show_rule_error(form: Any, error: DataRuleError) -> None:
    """A broken rule's message on the line it is about (an order's item line, by its product:
    ``DataRuleError.line``), on a part's own form (the Order items page), else on its field."""
    if form is not None and error.line is not None:
        reference, record_id, line_field = error.line
        field = getattr(form, error.field, None) if error.field else None
        lines = [entry.form for entry in getattr(field, "entries", ())] or [form]
        for line in lines:
            chosen = getattr(getattr(line, reference, None), "data", None)
            if getattr(chosen, "id", chosen) == record_id and getattr(line, line_field, None) is not None:
                show_on_field(line, line_field, error.message)
                return
    show_on_field(form, error.field, error.message)


def show_on_field(form: Any, name: str | None, message: str) -> None:
    """Add ``message`` to the errors of the form's field ``name``, if it has one."""
    field = getattr(form, name, None) if (form is not None and name) else None
    if field is not None:
        field.errors = [*field.errors, message]
