"""The one place that touches Flask-Admin's, Flask-Login's or SQLAlchemy's private names.

Flask-Admin 2.2.1 has no public hook for what these do; each wrapper says why it needs the
private name, and ``tests/unit/test_adapter_contract.py`` pins each one, so an upgrade that
changes it fails there, with its name, rather than somewhere in a view.
Check: ``grep -rnE "\\._(apply_|auto_joins|sortable_|get_default_order|get_column_by_idx|list_columns|
column_choices_map|get_field_value|filters|actions|views|handle_view|on_model_change|string_common|
get_list_extra_args|search_supported|login_user)" admin_app`` finds this module only.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlencode

from flask import g
from flask_admin import Admin
from flask_admin.contrib.sqla.form import AdminModelConverter

from admin_app.extensions import login_manager

# -- hooks: public methods our views override, called from Flask-Admin's private ones ------


class ViewHooks:
    """``before_view(name, **kwargs)``: run after Flask-Admin's access check, before any
    view method. Flask-Admin's only such step is ``BaseView._handle_view``."""

    def _handle_view(self, name: str, **kwargs: Any) -> Any:
        refused = super()._handle_view(name, **kwargs)  # type: ignore[misc]
        return refused if refused is not None else self.before_view(name, **kwargs)

    def before_view(self, name: str, **kwargs: Any) -> Any:
        return None


class StringFieldHook(AdminModelConverter):
    """``string_field_args(column, field_args)``: adjust every text field's validators.
    Flask-Admin builds them in ``AdminModelConverter._string_common`` (String and Text
    columns alike) and has no public hook there."""

    @classmethod
    def _string_common(cls, column: Any = None, field_args: Any = None, **extra: Any) -> None:
        super()._string_common(column=column, field_args=field_args, **extra)
        cls.string_field_args(column, field_args)

    @classmethod
    def string_field_args(cls, column: Any, field_args: dict[str, Any]) -> None:
        """Override: ``field_args["validators"]`` is the list Flask-Admin made."""


def replace_filter_validation(flt: Any, make_validate: Callable[[Any], Callable[[Any], bool]]) -> None:
    """Flask-Admin builds filters inside ``FilterConverter.convert`` from its own classes:
    the only way to widen what every filter refuses is to replace its ``validate``."""
    flt.validate = make_validate(flt)


# -- the list query: Flask-Admin's steps, which our ``get_list`` reorders -----------------


def search_supported(view: Any) -> bool:
    """Set by ``ModelView.init_search``; read to skip searching a view without search columns."""
    return bool(view._search_supported)


def active_filters(view: Any) -> list[Any]:
    """The view's filter objects in URL-index order (``flt<index>_...``): there is no public
    accessor, and the list's filter arguments name filters by this index."""
    return list(view._filters or ())


def apply_filters(view: Any, query: Any, count_query: Any, joins: Any, count_joins: Any, filters: Any) -> Any:
    """Flask-Admin's filter step (joins for dotted columns included), kept so a list's
    filters mean exactly what Flask-Admin's do."""
    return view._apply_filters(query, count_query, joins, count_joins, filters)


def apply_sorting(view: Any, query: Any, joins: Any, sort_column: Any, sort_desc: Any) -> Any:
    """Flask-Admin's sort step (column index, default sort, joined sort columns)."""
    return view._apply_sorting(query, joins, sort_column, sort_desc)


def apply_pagination(view: Any, query: Any, page: Any, page_size: Any) -> Any:
    """Flask-Admin's offset/limit step, applied to the lean id subquery."""
    return view._apply_pagination(query, page, page_size)


def auto_joins(view: Any) -> list[Any]:
    """The relationships Flask-Admin eager-loads for list columns (``column_auto_select_related``)."""
    return list(view._auto_joins)


def list_extra_args(view: Any) -> Any:
    """The list's page, sort, search and filters parsed from the request (``ViewArgs``): the
    export and the action menu must read them as the list page did."""
    return view._get_list_extra_args()


def sort_column_by_index(view: Any, index: Any) -> Any:
    """The ``(name, label)`` a list URL's ``sort=<index>`` means, or None."""
    return view._get_column_by_idx(index)


def sortable_column(view: Any, name: str) -> tuple[Any, Any] | None:
    """``(field or fields, joins)`` Flask-Admin sorts column ``name`` by, or None if it is not sortable."""
    if name not in view._sortable_columns:
        return None
    return view._sortable_columns[name], view._sortable_joins.get(name)


def default_order(view: Any) -> list[tuple[Any, Any, Any]]:
    """``(field, joins, descending)`` for ``column_default_sort``, resolved as Flask-Admin does."""
    return list(view._get_default_order())


# -- the list page: what Flask-Admin's list template reads --------------------------------


def list_columns(view: Any) -> list[tuple[str, Any]]:
    """``(name, label)`` of the list's columns, after ``column_list`` and exclusions."""
    return list(view._list_columns)


def column_choices(view: Any, name: str) -> dict[Any, Any] | None:
    """``column_choices`` for ``name`` as the mapping Flask-Admin's template reads."""
    return view._column_choices_map.get(name)


def field_value(view: Any, row: Any, name: str) -> Any:
    """A (possibly dotted) column's value as Flask-Admin's list cell reads it."""
    return view._get_field_value(row, name)


def hide_from_filter_menu(view: Any, context: dict[str, Any], hidden: Callable[[Any], bool]) -> dict[str, Any]:
    """The list template's arguments without the filters ``hidden`` picks in its "Add filter"
    menu and filter form; they stay registered, so their URLs (``flt<n>_<arg>``), exports and
    the one-click links that set them work as before. Flask-Admin offers every registered
    filter there and has no way to register one it does not offer: ``list_view`` hands the
    template ``filters`` (shows the menu), ``filter_groups`` (``{label: [{"index": i, "arg":
    ..., ...}]}``, the menu and its script's data) and ``active_filters`` (``[(index, name,
    value)]``, the filter form's rows; the script looks each up in ``filter_groups``). A hidden
    filter's value is kept: as ``kept_filter_args`` (the filter form's hidden inputs, named as
    ``filter_args`` names them) and on ``clear_search_url`` (Reset Filters, the search's ×)."""
    registered = active_filters(view)
    indices = {index for index, flt in enumerate(registered) if hidden(flt)}
    offered = [flt for index, flt in enumerate(registered) if index not in indices]
    if not indices:
        return {"kept_filter_args": {}}
    active = list(context.get("active_filters") or ())
    kept = _kept_arguments(view, registered, active, indices)
    return {"filters": offered or None,
            "filter_groups": _groups_without(context.get("filter_groups") or {}, indices) or None,
            "active_filters": _without(active, indices),
            "kept_filter_args": kept, "clear_search_url": _with_arguments(context.get("clear_search_url", ""), kept)}


def _without(active: list[Any], indices: set[int]) -> list[Any]:
    """The filter form's rows (``(index, name, value)``) but those of the filters at ``indices``."""
    return [triple for triple in active if triple[0] not in indices]


def _kept_arguments(view: Any, registered: list[Any], active: list[Any], indices: set[int]) -> dict[str, Any]:
    """The URL arguments (``flt<position>_<arg>``) of the active filters at ``indices``."""
    return {f"flt{position}_{view.get_filter_arg(index, registered[index])}": value
            for position, (index, _name, value) in enumerate(active) if index in indices}


def _groups_without(groups: dict[str, list[dict[str, Any]]], indices: set[int]) -> dict[str, list[dict[str, Any]]]:
    """The "Add filter" menu's groups without the filters at ``indices`` (and groups left empty)."""
    return {label: offered for label, items in groups.items()
            if (offered := [item for item in items if item["index"] not in indices])}


def _with_arguments(url: str, arguments: dict[str, Any]) -> str:
    """``url`` with ``arguments`` added to its query string."""
    return url + ("&" if "?" in url else "?") + urlencode(arguments) if arguments else url


# -- actions --------------------------------------------------------------------------------


def actions(view: Any) -> list[tuple[str, Any]]:
    """``(name, text)`` of the view's bulk actions, as ``init_actions`` collected them."""
    return list(getattr(view, "_actions", None) or ())


def keep_actions(view: Any, keep: Callable[[str], bool]) -> None:
    """Drop the actions ``keep`` refuses: ``init_actions`` collects every ``@action`` of the
    class, and there is no public way to leave one out per instance."""
    view._actions = [(name, text) for name, text in view._actions if keep(name)]
    for name in [name for name in view._actions_data if not keep(name)]:
        del view._actions_data[name]


def declared_actions(view_class: type) -> list[str]:
    """The names of ``@action`` methods in the order the classes declare them, the most
    derived class first: the decorator marks each method with ``_action`` (name, text,
    confirmation), and ``init_actions`` collects them in ``dir()``'s alphabetical order."""
    return [member._action[0] for cls in view_class.__mro__ for member in vars(cls).values()
            if hasattr(member, "_action")]


def wrap_actions(view: Any, wrap: Callable[[str, Callable[..., Any]], Callable[..., Any]]) -> None:
    """Replace each action's callable by ``wrap(name, callable)``: Flask-Admin keeps
    ``(callable, text, confirmation)`` in ``_actions_data`` and has no hook between the
    posted ids and the callable."""
    for name, (handler, text, confirmation) in list(view._actions_data.items()):
        view._actions_data[name] = (wrap(name, handler), text, confirmation)


# -- the admin, and Flask-Login ------------------------------------------------------------


def registered_views(admin: Admin) -> Iterable[Any]:
    """Every view added to ``admin`` (Flask-Admin keeps no public list)."""
    return tuple(admin._views)


def sign_out_for_this_request() -> None:
    """Flask-Login caches the request's user in ``g._login_user`` and has no public way to
    set an anonymous one without touching the session: render this response signed out."""
    g._login_user = login_manager.anonymous_user()
