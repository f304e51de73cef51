"""Behaviour every back-office view shares, written once.

- :class:`RoleAccessMixin`: sign-in required, roles checked on the server for every view
  and every action (anonymous → login page, signed in without the role → 403).
- :class:`ShopModelView`: the base of every model view: access, per-user page size,
  soft delete with restore and purge (see :mod:`admin_app.admin.soft_delete`), streaming
  and safe exports, and friendly messages for constraint violations.
"""

from __future__ import annotations

import logging
import secrets
import tempfile
from collections.abc import Callable, Iterator
from typing import Any
from urllib.parse import urlencode

from flask import Response, abort, flash, g, has_request_context, redirect, request, send_file, url_for
from flask_admin import BaseView, expose
from flask_admin.actions import action
from flask_admin.contrib.sqla import ModelView
from flask_admin.helpers import get_redirect_target
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup, escape
from sqlalchemy import Column, String, func, literal_column, select
from sqlalchemy import inspect as sa_inspect
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import MANYTOONE, ONETOMANY, joinedload
from sqlalchemy.orm.exc import StaleDataError
from wtforms import HiddenField, ValidationError
from wtforms.form import BaseForm

from admin_app.admin.errors import describe_integrity_error
from admin_app.admin.fields import ShopFilterConverter, ShopModelConverter
from admin_app.admin.soft_delete import DeletedFilter, has_soft_delete
from admin_app.admin.validators import parse_id, parse_ids, without_nul
from admin_app.auth.forms import PAGE_SIZES
from admin_app.extensions import db
from admin_app.models import ROLES, utcnow
from admin_app.services.export import ExportSpec, build_statement, csv_stream, iter_rows, xlsx_write
from admin_app.services.export_specs import EXPORTS
from admin_app.services.search import search_clause

log = logging.getLogger(__name__)

READ_ROLES = ROLES
WRITE_ROLES = ("admin", "staff")
ADMIN_ONLY = ("admin",)

# An XLSX download is built in full before it is sent; past this many rows, use CSV
# (which streams) or ``manage.py export``. Documented in the README.
XLSX_VIEW_ROW_CAP = 100_000
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

# Flask-Admin view methods that change data; every other exposed method only reads.
WRITE_METHODS = frozenset({"create_view", "edit_view", "ajax_update", "restore_view"})
# Actions that only make sense for models with soft delete, and who may use them.
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


class RoleAccessMixin:
    """Roles per view: ``read_roles`` may look, ``write_roles`` may change."""

    read_roles: tuple[str, ...] = READ_ROLES
    write_roles: tuple[str, ...] = WRITE_ROLES

    def is_accessible(self) -> bool:
        return current_role() in self.read_roles

    def can_write(self) -> bool:
        return current_role() in self.write_roles

    def inaccessible_callback(self, name: str, **kwargs: Any) -> Any:
        if not current_user.is_authenticated:
            return redirect(url_for("auth.login", next=request.full_path.rstrip("?")))
        abort(403)

    def _handle_view(self, name: str, **kwargs: Any) -> Any:
        refused = super()._handle_view(name, **kwargs)  # type: ignore[misc]
        if refused is not None:
            return refused
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
        return self.can_write() and super().is_action_allowed(name)  # type: ignore[misc]


def refuse_new_references_to_deleted(record: Any) -> None:
    """A form may keep pointing at a deleted record (an old order's product) but may not
    newly pick one (a new order item for a deleted product), here or in its inline rows."""
    state = sa_inspect(record)
    for relationship in state.mapper.relationships:
        history = state.attrs[relationship.key].history
        if relationship.direction is MANYTOONE:
            for target in history.added:
                if target is not None and getattr(target, "deleted_at", None) is not None:
                    raise ValidationError(f"{target} is deleted and cannot be chosen as {relationship.key}.")
        elif relationship.direction is ONETOMANY and relationship.cascade.save_update:
            for child in state.dict.get(relationship.key) or ():  # only collections already loaded
                if child is not None and not isinstance(child, type(record)):
                    child_state = sa_inspect(child)
                    if child_state.pending or child_state.modified:
                        refuse_new_references_to_deleted(child)


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
        return f"{COUNT_CAP:,}+"


class EstimatedCount(int):
    """The database planner's estimate of a big table's rows: shown as "about 1,000,000"."""

    def __str__(self) -> str:
        return f"about {int(self):,}"


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
    edit_template = "admin/shop_edit.html"
    details_template = "admin/shop_details.html"
    list_template = "admin/shop_list.html"

    def __init__(self, model: Any, *args: Any, **kwargs: Any) -> None:
        # Ajax look-ups leave deleted records out themselves (validators.LookupLoader).
        self.soft_delete = has_soft_delete(model)
        super().__init__(model, *args, **kwargs)

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

    @action("delete", "Delete", "Are you sure you want to delete the selected records?")
    def action_delete(self, ids: list[str]) -> None:
        """Row by row through ``delete_model`` (soft delete, history, friendly errors)."""
        rows = self.get_query().filter(self.model.id.in_(self.ids_from(ids))).all()
        deleted = sum(1 for row in rows if self.delete_model(row))
        if deleted:
            flash(f"{deleted} record(s) deleted.", "success")

    # -- soft delete --------------------------------------------------------------------

    def init_actions(self) -> None:
        super().init_actions()
        if not self.soft_delete:
            self._actions = [(n, t) for n, t in self._actions if n not in SOFT_DELETE_ACTIONS]
            for name in SOFT_DELETE_ACTIONS:
                self._actions_data.pop(name, None)

    def get_filters(self) -> Any:
        filters = list(super().get_filters() or [])
        if getattr(self, "soft_delete", False):
            filters.append(DeletedFilter(self.model.deleted_at))
        return filters or None

    def _live(self, query: Any) -> Any:
        if not self.soft_delete or g.get("include_deleted"):
            return query
        if g.get("searching") and db.engine.dialect.name == "sqlite":
            # Nearly every row is live: keep SQLite from walking the (deleted_at, date)
            # index over the whole table when a search can use a narrower one (user_id).
            return query.filter(func.coalesce(self.model.deleted_at, None).is_(None))
        return query.filter(self.model.deleted_at.is_(None))

    def get_query(self) -> Any:
        return self._live(super().get_query())

    def get_count_query(self) -> Any:
        return self._live(super().get_count_query())

    # -- the list: search, count and paging that stay fast on big tables -----------------

    def shows_deleted(self, filters: Any) -> bool:
        """Whether the list's active filters include the "Deleted" filter."""
        return any(isinstance(self._filters[idx], DeletedFilter) for idx, _name, _value in filters or ()
                   if self._filters and idx < len(self._filters))

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
        g.include_deleted = self.shows_deleted(filters)
        search = without_nul(search)  # PostgreSQL cannot compare text holding NUL
        g.searching = bool(search and self._search_supported)
        try:
            query, count_query, joins, count_joins = self.get_query(), self.get_count_query(), {}, {}
            if self._search_supported and search:
                query, count_query, joins, count_joins = self._apply_search(query, count_query, joins,
                                                                            count_joins, search)
            if filters and self._filters:
                query, count_query, joins, count_joins = self._apply_filters(query, count_query, joins,
                                                                             count_joins, filters)
            query, joins = self._apply_sorting(query, joins, sort_column, sort_desc)
            # The mapped attribute, not the table column: it keeps single-table inheritance's
            # type criterion (customers and employees share ``users``).
            primary_key = getattr(self.model, self.model.__mapper__.primary_key[0].key)
            query = query.order_by(primary_key.desc())  # a total order: pages never overlap
            if not execute:
                return None, query
            page_size = self.page_size if page_size is None else page_size
            # A forged ?page=-1 or ?page=99999999999999999999 reads as the nearest real page.
            page = min(max(page or 0, 0), (2**31 - 1) // max(page_size or 1, 1))
            count = self.row_count(count_query, narrowed=bool(search or filters), page=page or 0,
                                   page_size=page_size)
            page_ids = self._apply_pagination(query, page, page_size).with_entities(primary_key)
            # By primary key only: the ids already passed every filter, and repeating
            # ``deleted_at IS NULL`` here tempts SQLite into scanning that index instead.
            g.include_deleted = True
            rows, _joins = self._apply_sorting(self.get_query().filter(primary_key.in_(page_ids.statement)),
                                               {}, sort_column, sort_desc)
            return count, rows.order_by(primary_key.desc()).options(*(joinedload(j) for j in self._auto_joins)).all()
        finally:
            g.include_deleted = g.searching = False

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
        return super().render(template, **kwargs)

    @pass_context
    def list_rows(self, context: Any, data: list[Any]) -> Iterator[tuple[str, Markup]]:
        """Each row's id and its formatted, escaped cells as one piece of markup: what
        Flask-Admin's list template builds with a macro call per cell, in one loop."""
        cells = [self._list_cell(context, name) for name, _label in self._list_columns]
        for row in data:
            yield str(self.get_pk_value(row)), Markup("".join([cell(row) for cell in cells]))

    def _list_cell(self, context: Any, name: str) -> Callable[[Any], str]:
        """One column's ``<td>`` for a row: Flask-Admin's ``_get_list_value`` (the column's
        formatter or value, its choices, else the first type formatter that fits the value),
        with the per-column lookups made once and the type formatter found once per type."""
        opening = f'<td class="col-{escape(name)}">'
        column_formatter = self.column_formatters.get(name)
        choices = self._column_choices_map.get(name)
        type_formatters = self.column_type_formatters
        formatter_for_type: dict[type, Any] = {}

        def cell(row: Any) -> str:
            value = (column_formatter(self, context, row, name) if column_formatter is not None
                     else self._get_field_value(row, name))
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
        counted, estimated = db.session.execute(select(capped, estimate)).one()
        if counted <= COUNT_CAP:
            return counted
        if estimated and estimated > COUNT_CAP:
            return EstimatedCount(estimated)
        # Keep the pager working on pages past the cap (the URL may name any page).
        return CappedCount(max(COUNT_CAP, (page + 2) * (page_size or 1)))

    def _apply_search(self, query: Any, count_query: Any, joins: Any, count_joins: Any, search: str) -> Any:
        """The export specification's search (:func:`search_clause`), the same for the list,
        its export and ``manage.py export``."""
        spec = self.export_spec()
        condition = search_clause(spec.model, spec.search_columns, search)
        if condition is not None:
            query = query.filter(condition)
            count_query = count_query.filter(condition) if count_query is not None else None
        return query, count_query, joins, count_joins

    def get_one(self, id: Any) -> Any:
        """Any row, deleted or not: the views decide what a deleted one shows."""
        record_id = parse_id(id)
        if record_id is None:
            return None
        return db.session.get(self.model, record_id, options=self.record_load_options)

    #: Loader options for a single record's edit and detail pages (e.g. inline rows and
    #: what they show), so a form with many rows loads them in a fixed number of queries.
    record_load_options: tuple[Any, ...] = ()

    def _handle_view(self, name: str, **kwargs: Any) -> Any:
        refused = super()._handle_view(name, **kwargs)
        if refused is not None:
            return refused
        if self.soft_delete and name in ("edit_view", "details_view"):
            record = self.get_one(request.args.get("id", ""))
            if record is not None and record.is_deleted:
                return self.deleted_page(record)
        return None

    def deleted_page(self, record: Any) -> Any:
        """What a deleted record's edit or detail URL shows: that it is deleted."""
        return self.render("admin/deleted_record.html", record=record,
                           can_restore=self.is_action_allowed("restore")), 410

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

    def _rows_for(self, ids: list[str], deleted: bool) -> list[Any]:
        query = db.session.query(self.model).filter(self.model.id.in_(self.ids_from(ids)))
        condition = self.model.deleted_at.is_not(None) if deleted else self.model.deleted_at.is_(None)
        return query.filter(condition).order_by(self.model.id).all()

    @expose("/restore/", methods=["POST"])
    def restore_view(self) -> Any:
        if not self.soft_delete or not self.is_action_allowed("restore"):
            abort(403)
        record_id = request.form.get("id", "")
        restored = self._restore([record_id])
        if not restored:
            abort(404)
        return redirect(self.get_url(".edit_view", id=record_id))

    def _restore(self, ids: list[str]) -> int:
        rows = self._rows_for(ids, deleted=True)
        for row in rows:
            row.restore()
        db.session.commit()
        if rows:
            flash(f"{len(rows)} record(s) restored: " + ", ".join(str(r) for r in rows) + ".", "success")
        return len(rows)

    @action("restore", "Restore", "Restore the selected records?")
    def action_restore(self, ids: list[str]) -> None:
        if not self._restore(ids):
            flash("Nothing to restore: none of the selected records is deleted.", "warning")

    @action("purge", "Purge permanently",
            "Permanently remove the selected deleted records? This cannot be undone.")
    def action_purge(self, ids: list[str]) -> None:
        purged, refused = [], []
        for row in self._rows_for(ids, deleted=True):
            label = str(row)
            try:
                with db.session.begin_nested():
                    db.session.delete(row)
                    db.session.flush()
                purged.append(label)
            except IntegrityError:
                refused.append(label)
        db.session.commit()
        if purged:
            flash(f"{len(purged)} record(s) permanently removed: {', '.join(purged)}.", "success")
        if refused:
            flash(f"Not removed, because other records still refer to them: {', '.join(refused)}. "
                  "Change or remove those records first.", "error")
        if not purged and not refused:
            flash("Only deleted records can be purged: delete them first.", "warning")

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
        view_args = self._get_list_extra_args()
        extra_where: list[Any] = []
        narrowed = bool(view_args.search) or bool(view_args.filters)
        if narrowed:
            primary_key = self.model.__mapper__.primary_key[0]
            _count, query = self.get_list(0, None, False, view_args.search, view_args.filters,
                                          execute=False, page_size=0)
            ids = query.with_entities(primary_key).order_by(None).statement.correlate(None)
            extra_where.append(primary_key.in_(ids))
        statement = build_statement(spec, extra_where=extra_where, order_by=self.export_order_by(view_args) or None,
                                    include_deleted=narrowed)
        # The list's query has decided which rows are live; only the "Deleted" filter asks
        # session hooks (the coming soft-delete criteria) to leave deleted rows in.
        return statement.execution_options(include_deleted=self.shows_deleted(view_args.filters))

    def export_order_by(self, view_args: Any) -> list[Any]:
        """The list's sort (or ``column_default_sort``) as the engine's sort keys:
        ``user.username`` is sorted through the export's joined alias."""
        sort = self._get_column_by_idx(view_args.sort)
        sort_column = sort[0] if sort else None
        if sort_column is None or sort_column not in self._sortable_columns:
            return [self._export_sort_key(field, joins, bool(descending))
                    for field, joins, descending in self._get_default_order()]
        fields, joins = self._sortable_columns[sort_column], self._sortable_joins.get(sort_column)
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
        # The generator pushes its own app context: it runs after this request's is gone.
        rows = iter_rows(statement)
        filename = f"{self.endpoint}-{utcnow():%Y%m%d-%H%M}"
        if export_type == "csv":
            return Response(csv_stream(rows, spec.columns), mimetype="text/csv; charset=utf-8",
                            headers={"Content-Disposition": f'attachment; filename="{filename}.csv"'})
        workbook = tempfile.SpooledTemporaryFile(max_size=16 * 1024 * 1024)
        result = xlsx_write(rows, spec.columns, workbook, row_cap=XLSX_VIEW_ROW_CAP,
                            sheet_title=self.name or self.endpoint)
        workbook.seek(0)
        response = send_file(workbook, mimetype=XLSX_MIMETYPE, as_attachment=True,
                             download_name=f"{filename}.xlsx")
        if result.truncated:
            response.headers["X-Export-Truncated"] = str(result.rows_written)
        return response

    # -- history and concurrent edits --------------------------------------------------

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
        if hasattr(form, "loaded_version") and obj is not None and not form.loaded_version.data:
            form.loaded_version.data = obj.version_id
        return form

    def validate_form(self, form: Any) -> bool:
        """A form opened before someone else saved the record is refused as such first:
        its fields would otherwise be judged against the newer record ("this order can only
        be set to ..."), which hides what really happened."""
        loaded = getattr(getattr(form, "loaded_version", None), "data", None)
        if loaded and request.method == "POST" and request.endpoint == f"{self.endpoint}.edit_view":
            record = self.get_one(request.args.get("id", ""))
            if record is not None and str(loaded) != str(record.version_id):
                self.refuse_stale_edit(form, record)
                return False
        return super().validate_form(form)

    def handle_action(self, return_view: str | None = None) -> Any:
        """A bulk action that loses a race (a row changed or locked meanwhile) is rolled back
        and reported, never a 500."""
        try:
            return super().handle_action(return_view)
        except (StaleDataError, OperationalError, IntegrityError) as exc:
            db.session.rollback()
            log.warning("bulk action on %s failed: %s", self.endpoint, exc)
            flash("Nothing was changed: some of the selected records were changed by someone else at the "
                  "same moment. Reload the list and try again.", "error")
            return redirect(get_redirect_target() or self.get_url(".index_view"))

    def update_model(self, form: Any, model: Any) -> Any:
        # A stale form was refused in validate_form; a save that races another one past
        # that point fails on version_id_col (StaleDataError, see handle_view_exception).
        g.admin_form = form
        return super().update_model(form, model)

    def refuse_stale_edit(self, form: Any, model: Any) -> None:
        """Someone saved this record after the form was opened: keep their data, show it."""
        from admin_app.admin.audit import latest_change

        change = latest_change(model)
        who = f" by {change.actor_label} at {change.created_at:%Y-%m-%d %H:%M:%S} UTC" if change else ""
        flash(f"{model} was changed{who} since you opened it. Your changes were not saved; the form now "
              "shows the current values, so you can make your change again.", "error")
        form.process(formdata=None, obj=model)
        forget_submitted_values(form)
        form.loaded_version.data = model.version_id

    def _on_model_change(self, form: Any, model: Any, is_created: bool) -> None:
        super()._on_model_change(form, model, is_created)
        blank_strings_to_none(model)
        refuse_new_references_to_deleted(model)
        if not is_created and hasattr(model, "updated_at"):
            # Touch the record so its version moves even when only inline rows changed:
            # an order's items are protected by the order's version.
            model.updated_at = utcnow()

    # -- friendly errors ----------------------------------------------------------------

    def create_model(self, form: Any) -> Any:
        g.admin_form = form
        return super().create_model(form)

    def handle_view_exception(self, exc: Exception) -> bool:
        """A constraint violation becomes a message on the field (Flask-Admin rolls back)."""
        if isinstance(exc, IntegrityError):
            friendly = describe_integrity_error(exc)
            log.info("integrity error on %s: %s", self.endpoint, exc.orig)
            form = g.get("admin_form")
            field = getattr(form, friendly.field, None) if (form is not None and friendly.field) else None
            if field is not None:
                field.errors = [*field.errors, friendly.message]
            flash(friendly.message, "error")
            return True
        if isinstance(exc, StaleDataError):
            flash("This record was changed by someone else while you were saving. Your changes were not "
                  "saved; reload the page to see the current values.", "error")
            return True
        if isinstance(exc, ValidationError):
            return super().handle_view_exception(exc)
        # Anything else: log it whole, tell the user plainly (no SQL, no stack trace).
        log.exception("could not save %s", self.endpoint)
        flash("The record could not be saved. Nothing was changed; please try again.", "error")
        return True
