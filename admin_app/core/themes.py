"""The back office's colour themes: Light, Dark, or the same as the employee's system.

The choice is kept in ``User.preferences["theme"]``, which used to hold a Bootswatch swatch
name: those are read as the nearest theme (the dark swatches as Dark, the rest as Light),
so nobody's choice is lost and no migration is needed. The stylesheets are built from
``themes/`` into ``static/css/theme-light.css`` and ``theme-dark.css``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l

LIGHT, DARK, SYSTEM = "light", "dark", "system"
THEME_CHOICES = ((LIGHT, _l("Light")), (DARK, _l("Dark")), (SYSTEM, _l("Same as my system")))
# Bootswatch 4's dark swatches; any other swatch name (flatly, default, ...) reads as Light.
DARK_SWATCHES = frozenset({"cyborg", "darkly", "slate", "solar", "superhero"})


def theme_name(value: str | None, default: str = SYSTEM) -> str:
    """A stored preference (a theme, an old swatch name, or nothing) as a theme."""
    if value in (LIGHT, DARK, SYSTEM):
        return value
    if not value:
        return default if default in (LIGHT, DARK, SYSTEM) else theme_name(default)
    return DARK if value in DARK_SWATCHES else LIGHT


def preferred_theme(preferences: Mapping[str, Any] | None, default: str = SYSTEM) -> str:
    return theme_name((preferences or {}).get("theme"), default)


def stylesheets(theme: str) -> list[tuple[str, str]]:
    """``(file under static/css/, media query)`` for each stylesheet a page links.
    "Same as my system" links both, each for its ``prefers-color-scheme``."""
    if theme == LIGHT:
        return [("theme-light.css", "all")]
    if theme == DARK:
        return [("theme-dark.css", "all")]
    return [("theme-light.css", "not all and (prefers-color-scheme: dark)"),
            ("theme-dark.css", "(prefers-color-scheme: dark)")]
