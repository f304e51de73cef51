"""The export definitions of products and categories: one per export, used by the views
(their endpoints) and ``manage.py export``."""

from __future__ import annotations

from admin_app.catalog.models import Category, Product
from admin_app.core.export import ExportSpec
from admin_app.core.export_specs import CREATED, NEWEST_FIRST, col, register_exports

EXPORTS = register_exports({
    "product": ExportSpec(
        model=Product, title="products",
        columns=(
            col("ID", "id", "int"), col("SKU", "sku"), col("Name", "name"), col("Category", "category.name"),
            col("Price", "price", "money"), col("Stock", "stock", "int"),
            col("In stock", "is_in_stock", "bool"), CREATED,
        ),
        search_columns=("name", "sku"),
        filters=("price", "stock", "is_in_stock", "created_at", "category.name"),
        default_sort=NEWEST_FIRST,
    ),
    "category": ExportSpec(
        model=Category, title="categories",
        columns=(col("ID", "id", "int"), col("Name", "name"), col("Parent", "parent.name"),
                 col("Description", "description"), CREATED),
        search_columns=("name",),
        filters=("name", "created_at"),
        default_sort=NEWEST_FIRST,
    ),
})
