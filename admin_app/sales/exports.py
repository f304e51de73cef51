"""The export definitions of orders, order items, cart items: one per export, used by the views
(their endpoints) and ``manage.py export``."""

from __future__ import annotations

from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy import type_coerce

from admin_app.core.export import MONEY_SQL, ExportColumn, ExportSpec
from admin_app.core.export_specs import col, register_exports
from admin_app.sales.models import CartItem, Order, OrderItem


def _order_totals() -> dict[str, Any]:
    """Subtotal and total straight from the order row (``items_subtotal`` is kept current
    by the models): no pass over a million order items."""
    return {"subtotal": type_coerce(Order.items_subtotal, MONEY_SQL),
            "total": type_coerce(Order.items_subtotal + Order.shipping_fee, MONEY_SQL)}

EXPORTS = register_exports({
    "order": ExportSpec(
        model=Order, title="orders", computed=_order_totals,
        columns=(
            col(_l("ID"), "id", "int"), col(_l("Order date"), "order_date", "datetime"), col(_l("Status"), "status"),
            col(_l("Customer"), "user.username"), col(_l("Customer name"), "user.full_name"),
            col(_l("Email"), "user.email"),
            col(_l("Customer deleted"), "user.is_deleted", "bool"), col(_l("Subtotal"), "subtotal", "money"),
            col(_l("Shipping fee"), "shipping_fee", "money"), col(_l("Total"), "total", "money"),
        ),
        search_columns=("id", "user.search_key"),  # a person by names, username or email
        filters=("status", "order_date", "subtotal", "total", "shipping_fee", "user.username"),
        default_sort=(("order_date", True), ("id", True)),
    ),
    "orderitem": ExportSpec(
        model=OrderItem, title="order items",
        columns=(
            col(_l("ID"), "id", "int"), col(_l("Order"), "order_id", "int"),
            col(_l("Order date"), "order.order_date", "datetime"), col(_l("Product"), "product.name"),
            col(_l("SKU"), "product.sku"),
            # History stays readable: a product deleted since is still named, and marked.
            col(_l("Product deleted"), "product.is_deleted", "bool"), col(_l("Quantity"), "quantity", "int"),
            col(_l("Unit price"), "price", "money"), col(_l("Subtotal"), "subtotal", "money"),
        ),
        search_columns=("product.name",),
        filters=("quantity", "price", "subtotal", "order.id"),
        default_sort=(("id", True),),
    ),
    "cartitem": ExportSpec(
        model=CartItem, title="cart items",
        columns=(
            col(_l("ID"), "id", "int"), col(_l("Customer"), "user.username"), col(_l("Product"), "product.name"),
            col(_l("SKU"), "product.sku"),
            # History stays readable: a product deleted since is still named, and marked.
            col(_l("Product deleted"), "product.is_deleted", "bool"), col(_l("Quantity"), "quantity", "int"),
            col(_l("Unit price"), "product.price", "money"),
            # The joined product's price, not the hybrid's correlated subquery per row.
            ExportColumn(_l("Subtotal"), "subtotal", "money", sql=lambda at: at("product.price") * at("quantity")),
            col(_l("Added"), "added_at", "datetime"),
        ),
        search_columns=("user.search_key", "product.name"),
        filters=("quantity", "added_at"),
        default_sort=(("added_at", True), ("id", True)),
    ),
})
