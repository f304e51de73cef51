"""Contracts of the private library names that ``admin_app.core.adapter`` wraps.

One test per private name. Each drives the name through the adapter against the app's real
views (Flask-Admin 2.2.1, Flask-Login 0.6.3) and fails with a message naming the name and
the adapter function to fix, so an upgrade that changes one says so here first.
"""

from __future__ import annotations

import inspect
import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g
from flask_admin.contrib.sqla.form import AdminModelConverter
from flask_admin.contrib.sqla.view import ModelView
from flask_login import current_user, login_user

from admin_app.core import adapter
from admin_app.core.validators import no_nul
from admin_app.core.views import ShopModelView
from admin_app.extensions import db
from admin_app.sales.models import Order

UPGRADE = "Flask-Admin/Flask-Login changed {name}: update admin_app.core.adapter.{fix} (and this contract)."


def view_of(app: Flask, endpoint: str) -> Any:
    return next(v for v in adapter.registered_views(app.extensions["admin"][0])
                if getattr(v, "endpoint", None) == endpoint)


def compiled(statement: Any) -> str:
    return str(getattr(statement, "statement", statement).compile(compile_kwargs={"literal_binds": True}))


def status_filter_index(view: Any) -> int:
    return next(i for i, flt in enumerate(adapter.active_filters(view))
                if getattr(flt.column, "key", None) == "status" and flt.operation() == "equals")


def test_admin_views(app: Flask) -> None:
    endpoints = {getattr(v, "endpoint", None) for v in adapter.registered_views(app.extensions["admin"][0])}
    assert {"order", "product", "employee", "account"} <= endpoints, \
        UPGRADE.format(name="Admin._views", fix="registered_views")


def test_handle_view(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    view = view_of(app, "order")
    params = list(inspect.signature(ModelView._handle_view).parameters)
    assert params[:2] == ["self", "name"], UPGRADE.format(name="BaseView._handle_view's signature", fix="ViewHooks")
    monkeypatch.setattr(view, "is_accessible", lambda: True)
    monkeypatch.setattr(view, "before_view", lambda name, **kwargs: f"stopped before {name}")
    with app.test_request_context("/admin/order/"):
        assert view.index_view() == "stopped before index_view", \
            UPGRADE.format(name="BaseView._handle_view (no longer run before each view method)", fix="ViewHooks")


def test_string_common(app: Flask) -> None:
    assert isinstance(inspect.getattr_static(AdminModelConverter, "_string_common"), classmethod), \
        UPGRADE.format(name="AdminModelConverter._string_common", fix="StringFieldHook")
    with app.test_request_context("/admin/product/new/"):
        form = view_of(app, "product").create_form()
    assert form.name.validators[0] is no_nul, \
        UPGRADE.format(name="AdminModelConverter._string_common (no longer builds text fields)", fix="StringFieldHook")


def test_filter_validate(app: Flask) -> None:
    view = view_of(app, "order")
    index = status_filter_index(view)
    flt = adapter.active_filters(view)[index]
    assert list(inspect.signature(flt.validate).parameters) == ["value"], \
        UPGRADE.format(name="a filter's validate(value)", fix="replace_filter_validation")
    arg = view.get_filter_arg(index, flt)
    original = flt.validate
    try:
        adapter.replace_filter_validation(flt, lambda f: lambda value: value != "refused")
        with app.test_request_context(f"/admin/order/?flt0_{arg}=refused"):
            assert adapter.list_extra_args(view).filters == [], \
                UPGRADE.format(name="filter.validate (no longer asked for each URL filter)",
                               fix="replace_filter_validation")
    finally:
        flt.validate = original


def test_search_supported(app: Flask) -> None:
    assert adapter.search_supported(view_of(app, "order")) is True
    assert adapter.search_supported(view_of(app, "auditlog")) is True, \
        UPGRADE.format(name="ModelView._search_supported", fix="search_supported")


def test_filters(app: Flask) -> None:
    filters = adapter.active_filters(view_of(app, "order"))
    assert filters and all(hasattr(flt, "apply") for flt in filters), \
        UPGRADE.format(name="ModelView._filters", fix="active_filters")


def test_get_list_extra_args(app: Flask) -> None:
    with app.test_request_context("/admin/order/?sort=1&desc=1&search=x"):
        args = adapter.list_extra_args(view_of(app, "order"))
    assert (args.sort, args.sort_desc, args.search) == (1, 1, "x"), \
        UPGRADE.format(name="ModelView._get_list_extra_args", fix="list_extra_args")


def test_apply_filters(app: Flask) -> None:
    view = view_of(app, "order")
    index = status_filter_index(view)
    with app.test_request_context("/admin/order/"):
        result = adapter.apply_filters(view, view.get_query(), view.get_count_query(), {}, {},
                                       [(index, "Status", "paid")])
    assert len(result) == 4 and "'paid'" in compiled(result[0]) and "'paid'" in compiled(result[1]), \
        UPGRADE.format(name="ModelView._apply_filters", fix="apply_filters")


def test_apply_sorting(app: Flask) -> None:
    view = view_of(app, "order")
    with app.test_request_context("/admin/order/"):
        query, joins = adapter.apply_sorting(view, view.get_query(), {}, None, None)
    assert "ORDER BY orders.order_date DESC" in compiled(query) and isinstance(joins, dict), \
        UPGRADE.format(name="ModelView._apply_sorting", fix="apply_sorting")


def test_apply_pagination(app: Flask) -> None:
    view = view_of(app, "order")
    with app.test_request_context("/admin/order/"):
        query = adapter.apply_pagination(view, view.get_query(), 2, 20)
    assert "LIMIT 20 OFFSET 40" in compiled(query), UPGRADE.format(name="ModelView._apply_pagination",
                                                                   fix="apply_pagination")


def test_auto_joins(app: Flask) -> None:
    joins = adapter.auto_joins(view_of(app, "order"))
    assert Order.user in joins, UPGRADE.format(name="ModelView._auto_joins", fix="auto_joins")


def test_get_column_by_idx(app: Flask) -> None:
    view = view_of(app, "order")
    names = [name for name, _label in adapter.list_columns(view)]
    assert adapter.sort_column_by_index(view, names.index("status"))[0] == "status", \
        UPGRADE.format(name="BaseModelView._get_column_by_idx", fix="sort_column_by_index")
    assert adapter.sort_column_by_index(view, None) is None


def test_sortable_columns(app: Flask) -> None:
    view = view_of(app, "order")
    field, _joins = adapter.sortable_column(view, "status")
    assert field is Order.status or getattr(field, "key", None) == "status", \
        UPGRADE.format(name="ModelView._sortable_columns / _sortable_joins", fix="sortable_column")
    assert adapter.sortable_column(view, "no such column") is None


def test_get_default_order(app: Flask) -> None:
    order = adapter.default_order(view_of(app, "order"))
    assert [(getattr(field, "key", field), bool(desc)) for field, _joins, desc in order][0] == ("order_date", True), \
        UPGRADE.format(name="ModelView._get_default_order", fix="default_order")


def test_list_columns(app: Flask) -> None:
    columns = adapter.list_columns(view_of(app, "order"))
    assert ("status", "Status") in columns, UPGRADE.format(name="BaseModelView._list_columns", fix="list_columns")


def test_column_choices_map(app: Flask) -> None:
    view = view_of(app, "employee")
    assert isinstance(view._column_choices_map, dict), \
        UPGRADE.format(name="BaseModelView._column_choices_map", fix="column_choices")
    assert adapter.column_choices(view, "no such column") is None


def test_get_field_value(app: Flask, admin_user: Any) -> None:
    view = view_of(app, "employee")
    assert adapter.field_value(view, admin_user, "username") == "admin1", \
        UPGRADE.format(name="BaseModelView._get_field_value", fix="field_value")


def test_list_template_filter_arguments(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    """``list_view`` hands its template the filters as ``hide_from_filter_menu`` reads them
    (``filters``, ``filter_groups`` of ``{"index", "arg", ...}`` entries, ``active_filters``
    triples, ``clear_search_url``), and Flask-Admin's list template feeds its filter script
    from the two."""
    fix = "hide_from_filter_menu"
    view = view_of(app, "order")
    deleted = next(i for i, flt in enumerate(adapter.active_filters(view)) if type(flt).__name__ == "DeletedFilter")
    arg = view.get_filter_arg(deleted, adapter.active_filters(view)[deleted])
    captured: dict[str, Any] = {}
    monkeypatch.setattr(view, "is_accessible", lambda: True)
    monkeypatch.setattr(view, "render", lambda template, **kwargs: captured.update(kwargs) or "")
    with app.test_request_context(f"/admin/order/?flt0_{arg}=only"):
        view.index_view()
        context = dict(captured)
        assert {"filters", "filter_groups", "active_filters", "clear_search_url"} <= context.keys(), \
            UPGRADE.format(name="list_view's filter arguments to the list template", fix=fix)
        entries = [entry for group in context["filter_groups"].values() for entry in group]
        assert any(entry["index"] == deleted and entry["arg"] == arg for entry in entries), \
            UPGRADE.format(name="list_view's filter_groups entries", fix=fix)
        assert [tuple(t)[::2] for t in context["active_filters"]] == [(deleted, "only")], \
            UPGRADE.format(name="list_view's active_filters", fix=fix)
        hidden = adapter.hide_from_filter_menu(view, context, lambda flt: type(flt).__name__ == "DeletedFilter")
    assert hidden["kept_filter_args"] == {f"flt0_{arg}": "only"} and hidden["active_filters"] == []
    assert all(e["index"] != deleted for group in hidden["filter_groups"].values() for e in group)
    assert hidden["clear_search_url"].endswith(f"flt0_{arg}=only")
    source, _, _ = app.jinja_env.loader.get_source(app.jinja_env, "admin/model/list.html")
    assert "filter_groups|tojson" in source and "active_filters|tojson" in source, \
        UPGRADE.format(name="admin/model/list.html's filter script data", fix=fix)


def test_actions(app: Flask) -> None:
    view = view_of(app, "order")
    names = [name for name, _text in adapter.actions(view)]
    assert "delete" in names, UPGRADE.format(name="ActionsMixin._actions", fix="actions")
    handler, text, _confirmation = view._actions_data["delete"]
    assert callable(handler) and text, UPGRADE.format(name="ActionsMixin._actions_data", fix="wrap_actions")


def test_actions_can_be_kept_and_wrapped(app: Flask) -> None:
    view = ShopModelView(Order, db, endpoint="contract_orders", url="/contract-orders")
    view.init_actions()
    adapter.keep_actions(view, lambda name: name != "delete")
    assert "delete" not in dict(adapter.actions(view)) and "delete" not in view._actions_data, \
        UPGRADE.format(name="ActionsMixin._actions/_actions_data", fix="keep_actions")
    adapter.wrap_actions(view, lambda name, handler: lambda ids: f"wrapped {name}")
    assert all(entry[0]([]) == f"wrapped {name}" for name, entry in view._actions_data.items()), \
        UPGRADE.format(name="ActionsMixin._actions_data", fix="wrap_actions")


def test_login_user_cache(app: Flask, admin_user: Any) -> None:
    with app.test_request_context("/"):
        login_user(admin_user)
        assert current_user.is_authenticated
        adapter.sign_out_for_this_request()
        assert not current_user.is_authenticated and "_login_user" in g, \
            UPGRADE.format(name="Flask-Login's g._login_user", fix="sign_out_for_this_request")



def test_base_template_assets(app: Flask) -> None:
    """Our frame (templates/admin/shop_base.html) links Flask-Admin's own static files with
    the versions its base template gives them, the Bootstrap swatch aside (our themes replace
    it): an upgrade that moves or re-versions one fails here, not as a broken page."""
    theirs_source, _, _ = app.jinja_env.loader.get_source(app.jinja_env, "admin/base.html")
    ours = (Path(app.template_folder) / "admin" / "shop_base.html").read_text()
    asset = re.compile(r"admin_static\.url\(filename='([^']+)'(?:, v='([^']+)')?\)")
    theirs = {(name, version) for name, version in asset.findall(theirs_source) if "bootstrap.min.css" not in name}
    linked = set(re.findall(r"admin_static_url\(filename='([^']+)'(?:, v='([^']+)')?\)", ours))
    assert theirs, UPGRADE.format(name="admin/base.html's asset links", fix="(templates/admin/shop_base.html)")
    assert theirs <= linked, UPGRADE.format(
        name=f"its base template's assets {sorted(theirs - linked)}", fix="(templates/admin/shop_base.html)")
