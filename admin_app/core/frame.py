"""The parts of every back-office page that do not change between requests, built once.

The navigation menu depends only on the employee's role, language and the page's view, and the
static asset URLs on nothing at all; Flask-Admin's templates rebuild both on every page
(a ``url_for`` per link and asset, an access check per menu item). They are kept per app,
keyed by what they depend on (figures in bench/README.md).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from flask import Flask, current_app, request, url_for
from flask_babel import get_locale
from flask_login import current_user
from markupsafe import Markup

from admin_app.core.formatters import choice_label
from admin_app.core.themes import preferred_theme, stylesheets
from admin_app.core.views import current_role


def _cache(name: str) -> dict[Any, Any]:
    return current_app.extensions.setdefault(f"admin_app.{name}", {})


def cached_menu(view: Any, render_menu: Callable[[], str]) -> Markup:
    """Flask-Admin's main menu (``layout.menu``) as rendered for this role, view and language."""
    menus = _cache("menus")
    key = (current_role(), view.endpoint, request.script_root, str(get_locale()))
    if key not in menus:
        menus[key] = Markup(render_menu())
    return menus[key]


def admin_static_url(filename: str, **kwargs: Any) -> str:
    """``url_for('admin.static', ...)``, built once per file and version."""
    urls = _cache("static_urls")
    key = (request.script_root, filename, tuple(sorted(kwargs.items())))
    if key not in urls:
        urls[key] = url_for("admin.static", filename=filename, **kwargs)
    return urls[key]


def theme_stylesheets() -> list[tuple[str, str]]:
    """The signed-in employee's theme (see :mod:`admin_app.core.themes`); signed-out pages
    follow the system."""
    preferences = current_user.preferences if current_user.is_authenticated else None
    return stylesheets(preferred_theme(preferences, current_app.config["ADMIN_THEME"]))


def register_frame_helpers(app: Flask) -> None:
    app.jinja_env.globals.update(cached_menu=cached_menu, admin_static_url=admin_static_url,
                                 theme_stylesheets=theme_stylesheets,
                                 choice_label=choice_label)
