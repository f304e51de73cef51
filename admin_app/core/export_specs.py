"""The registry of every export's one definition (:class:`~admin_app.core.export.ExportSpec`),
by the name the views (their endpoints) and ``manage.py export`` use. Each domain package's
``exports.py`` fills it; the core never names a domain."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask_babel import lazy_gettext as _l

from admin_app.core.export import ExportColumn, ExportSpec, Kind, SortKey

#: Every entity's definition, by the name the CLI and the views (their endpoints) use.
EXPORTS: dict[str, ExportSpec] = {}


def register_exports(specs: Mapping[str, ExportSpec]) -> Mapping[str, ExportSpec]:
    """Add a domain's definitions to :data:`EXPORTS` (a name is defined once) and hand them back."""
    for name, spec in specs.items():
        if name in EXPORTS and EXPORTS[name] is not spec:
            raise ValueError(f"export {name!r} is defined twice")
        EXPORTS[name] = spec
    return specs


def col(label: Any, source: str, kind: Kind = "text") -> ExportColumn:
    return ExportColumn(label, source, kind)


CREATED = col(_l("Created"), "created_at", "datetime")
NEWEST_FIRST: tuple[SortKey, ...] = (("created_at", True), ("id", True))
