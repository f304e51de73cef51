"""The export definitions of products and categories: one per export, used by the views
(their endpoints) and ``manage.py export``."""

from __future__ import annotations

from flask_babel import lazy_gettext as _l

from admin_app.catalog.models import Category, Product
from admin_app.core.export import ExportSpec
from admin_app.core.export_specs import CREATED, NEWEST_FIRST, col, register_exports

EXPORTS = register_exports({
    "product": ExportSpec(
        model=Product, title="products",
        columns=(
            col(_l("ID"), "id", "int"), col(_l("SKU"), "sku"), col(_l("Name"), "name"),
            col(_l("Category"), "category.name"),
            col(_l("Price"), "price", "money"), col(_l("Stock"), "stock", "int"),
            col(_l("In stock"), "is_in_stock", "bool"), CREATED,
        ),
        search_columns=("name", "sku"),
        filters=("price", "stock", "is_in_stock", "created_at", "category.name"),
        default_sort=NEWEST_FIRST,
    ),
    "category": ExportSpec(
        model=Category, title="categories",
        columns=(col(_l("ID"), "id", "int"), col(_l("Name"), "name"), col(_l("Parent"), "parent.name"),
                 col(_l("Description"), "description"), CREATED),
        search_columns=("name",),
        filters=("name", "created_at"),
        default_sort=NEWEST_FIRST,
    ),
})
