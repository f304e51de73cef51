"""Filters people click: date presets, and the one-click filters beside a list.

A date column named in a view's ``date_presets`` gets a "period" filter (today, yesterday,
the last 7 days, this month, last month, and the dashboard's rolling 30 days), each computed
in the employee's time zone (the shop's unless they chose one). A view's ``quick_filters``
names the columns whose choices are shown as links above its list (:func:`quick_filter_groups`);
each link sets the list's own filter arguments (``flt<n>_<filter>``), keeping the other
one-click filters and the search, so what it shows is exactly what the filter shows. Counts
beside the choices stop at :data:`COUNT_CAP`, as the lists' own counts do ("1,000+").
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import request, url_for
from flask_admin.contrib.sqla.filters import BaseSQLAFilter, FilterEqual, FilterNotEqual
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, literal_column, select

from admin_app.core import adapter
from admin_app.core.i18n import employee_zone, format_number
from admin_app.core.models import utcnow
from admin_app.core.soft_delete_view import DeletedFilter
from admin_app.extensions import db

#: The dashboard's period: its figures count the rows of the last 30 days, to the moment.
ROLLING_PERIOD = timedelta(days=30)
LAST_30_DAYS = "last_30_days"
PRESETS = (("today", _l("Today")), ("yesterday", _l("Yesterday")), ("last_7_days", _l("Last 7 days")),
           (LAST_30_DAYS, _l("Last 30 days")), ("this_month", _l("This month")), ("last_month", _l("Last month")))
ALL = ""  # the link that clears a group's filter
#: A choice's count stops past this many rows ("Delivered (1,000+)"), as a list's own count
#: does: counting every live order by status cost the order list ~100 ms at bench scale
#: (200,000 orders, SQLite; bench/README.md), a capped count per choice ~2 ms.
COUNT_CAP = 1_000


def _month_start(day: datetime, months_back: int = 0) -> datetime:
    year, month = divmod(day.year * 12 + day.month - 1 - months_back, 12)
    return day.replace(year=year, month=month + 1, day=1)


def preset_range(code: str, now: datetime | None = None) -> tuple[datetime, datetime | None]:
    """The UTC moments ``[start, end)`` of a preset, its days those of the employee's zone."""
    now = now or utcnow()
    if code == LAST_30_DAYS:
        return now - ROLLING_PERIOD, None
    midnight = now.astimezone(employee_zone()).replace(hour=0, minute=0, second=0, microsecond=0)
    start, end = {
        "today": (midnight, midnight + timedelta(days=1)),
        "yesterday": (midnight - timedelta(days=1), midnight),
        "last_7_days": (midnight - timedelta(days=6), midnight + timedelta(days=1)),
        "this_month": (_month_start(midnight), _month_start(midnight, -1)),
        "last_month": (_month_start(midnight, 1), _month_start(midnight)),
    }[code]
    # Aware arithmetic is wall-clock arithmetic: each bound gets its own offset (clock changes).
    return start.astimezone(UTC), end.astimezone(UTC)


class DatePresetFilter(BaseSQLAFilter):
    """A date column within one of :data:`PRESETS`."""

    def __init__(self, column: Any, name: Any) -> None:
        super().__init__(column, name, options=PRESETS)

    def apply(self, query: Any, value: Any, alias: Any = None) -> Any:
        start, end = preset_range(value)
        column = self.get_column(alias)
        query = query.filter(column >= start)
        return query if end is None else query.filter(column < end)

    def operation(self) -> str:
        return str(_l("in the period"))

    def validate(self, value: Any) -> bool:
        return value in dict(PRESETS)


@dataclass(frozen=True)
class Choice:
    label: str
    url: str
    active: bool
    count: int | None = None

    @property
    def count_text(self) -> str:
        """The count as the link shows it: "1,000+" past :data:`COUNT_CAP`."""
        if self.count is None:
            return ""
        return f"{format_number(COUNT_CAP)}+" if self.count > COUNT_CAP else format_number(self.count)


@dataclass(frozen=True)
class Group:
    label: str
    choices: tuple[Choice, ...]


def _filter_for(view: Any, name: str, kind: type | None = None) -> tuple[int, Any] | None:
    """The "equals" (or period, or ``kind``) filter of column ``name`` and its index in the list's URL."""
    key, label = name.rsplit(".", 1)[-1], str(view.get_column_name(name))
    kind = kind or (DatePresetFilter if name in view.date_presets else FilterEqual)
    for index, flt in enumerate(adapter.active_filters(view)):
        if isinstance(flt, kind) and getattr(flt.column, "key", None) == key and str(flt.name) == label:
            return index, flt
    return None


def _chosen(view: Any, values: dict[int, str], keep_current: bool) -> list[tuple[int, str]]:
    """The filters (index, value) a link sets: ``values`` over the ones now set, if kept."""
    current = [(index, value) for index, _name, value in adapter.list_extra_args(view).filters or ()]
    chosen = [(i, v) for i, v in current if i not in values] if keep_current else []
    return chosen + [(i, v) for i, v in values.items() if v != ALL]


def filter_url(view: Any, values: dict[int, str], keep_current: bool = True) -> str:
    """The list's URL with the filters ``values`` (index → value; ``ALL`` clears one), keeping
    the search and the other filters now set."""
    filters = adapter.active_filters(view)
    args = {f"flt{n}_{view.get_filter_arg(i, filters[i])}": v
            for n, (i, v) in enumerate(_chosen(view, values, keep_current))}
    search = request.args.get("search") if keep_current else None
    if search:
        args["search"] = search
    return url_for(".index_view" if keep_current else f"{view.endpoint}.index_view", **args)


def url_with(view: Any, exclude: dict[str, str] | None = None, **values: str) -> str:
    """The list's URL showing the rows whose column (by name) has each value (a preset code
    for a date column), and not the values ``exclude`` names; for links from other pages,
    such as the dashboard's figures."""
    wanted = [(name, value, None) for name, value in values.items()]
    wanted += [(name, value, FilterNotEqual) for name, value in (exclude or {}).items()]
    by_index = {}
    for name, value, kind in wanted:
        found = _filter_for(view, name, kind)
        if found is None:
            raise LookupError(f"{view.endpoint} has no filter for {name}")
        by_index[found[0]] = value
    return filter_url(view, by_index, keep_current=False)


def _counts(view: Any, name: str, values: list[Any]) -> dict[Any, int]:
    """Rows per value of an indexed column, live rows only (the trash rule), each counted up
    to ``COUNT_CAP + 1`` through the column's index: one statement."""
    column = getattr(view.model, name)
    counts = [select(func.count()).select_from(
        select(literal_column("1")).select_from(view.model).where(column == value).limit(COUNT_CAP + 1).subquery()
    ).scalar_subquery() for value in values]
    return dict(zip(values, db.session.execute(select(*counts)).one(), strict=True)) if values else {}


def _group(view: Any, name: str, options: Iterable[tuple[Any, Any]], index: int, active: str | None,
           counts: dict[Any, int] | None) -> Group:
    choices = [Choice(str(_l("All")), filter_url(view, {index: ALL}), active is None)]
    for value, label in options:
        choices.append(Choice(str(label), filter_url(view, {index: str(value)}), active == str(value),
                              None if counts is None else counts.get(value, 0)))
    return Group(str(view.get_column_name(name)), tuple(choices))


def _trash_switch(view: Any) -> Group:
    index = next(i for i, f in enumerate(adapter.active_filters(view)) if isinstance(f, DeletedFilter))
    active = _active_values(view).get(index)
    options = ((ALL, _l("Live"), None), (DeletedFilter.ONLY, _l("In the trash"), DeletedFilter.ONLY),
               (DeletedFilter.ALL, _l("All"), DeletedFilter.ALL))
    return Group(str(_l("Show")), tuple(Choice(str(label), filter_url(view, {index: value}), active == shown)
                                        for value, label, shown in options))


def _active_values(view: Any) -> dict[int, str]:
    return {index: str(value) for index, _name, value in adapter.list_extra_args(view).filters or ()}


def quick_filter_groups(view: Any) -> list[Group]:
    """The one-click filters of ``view``'s list, as links, the active ones marked; counts only
    where the view names them (one grouped statement on an indexed column)."""
    groups, active = [], _active_values(view)
    dynamic: dict[str, Callable[[], Iterable[tuple[Any, Any]]]] = getattr(view, "quick_filter_choices", {})
    for name in view.quick_filters:
        found = _filter_for(view, name)
        if found is None:
            continue
        index, flt = found
        options = list(dynamic[name]() if name in dynamic else flt.options or ())
        counts = _counts(view, name, [value for value, _label in options]) if name in view.quick_filter_counts else None
        groups.append(_group(view, name, options, index, active.get(index), counts))
    if view.soft_delete:
        groups.append(_trash_switch(view))
    return groups
