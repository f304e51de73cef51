"""Every export's one definition (:class:`~admin_app.services.export.ExportSpec`), by the
name the views (their endpoints) and ``manage.py export`` use: columns, search, filters, sort."""

from __future__ import annotations

from typing import Any

from sqlalchemy import type_coerce

from admin_app.models import (
    Address,
    AuditLog,
    CartItem,
    Category,
    Comment,
    Customer,
    Employee,
    Order,
    OrderItem,
    Post,
    Product,
    Tag,
)
from admin_app.services.export import MONEY_SQL, ExportColumn, ExportSpec, Kind, SortKey


def _order_totals() -> dict[str, Any]:
    """Subtotal and total straight from the order row (``items_subtotal`` is kept current
    by the models): no pass over a million order items."""
    return {"subtotal": type_coerce(Order.items_subtotal, MONEY_SQL),
            "total": type_coerce(Order.items_subtotal + Order.shipping_fee, MONEY_SQL)}


def _col(label: str, source: str, kind: Kind = "text") -> ExportColumn:
    return ExportColumn(label, source, kind)


_CREATED = _col("Created", "created_at", "datetime")
_NEWEST_FIRST: tuple[SortKey, ...] = (("created_at", True), ("id", True))

#: Every entity's definition, by the name the CLI and the views (their endpoints) use.
EXPORTS: dict[str, ExportSpec] = {
    "order": ExportSpec(
        model=Order, title="orders", computed=_order_totals,
        columns=(
            _col("ID", "id", "int"), _col("Order date", "order_date", "datetime"), _col("Status", "status"),
            _col("Customer", "user.username"), _col("Customer name", "user.full_name"), _col("Email", "user.email"),
            _col("Customer deleted", "user.is_deleted", "bool"), _col("Subtotal", "subtotal", "money"),
            _col("Shipping fee", "shipping_fee", "money"), _col("Total", "total", "money"),
        ),
        search_columns=("id", "user.username", "user.email"),
        filters=("status", "order_date", "subtotal", "total", "shipping_fee", "user.username"),
        default_sort=(("order_date", True), ("id", True)),
    ),
    "orderitem": ExportSpec(
        model=OrderItem, title="order items",
        columns=(
            _col("ID", "id", "int"), _col("Order", "order_id", "int"),
            _col("Order date", "order.order_date", "datetime"), _col("Product", "product.name"),
            _col("SKU", "product.sku"),
            # History stays readable: a product deleted since is still named, and marked.
            _col("Product deleted", "product.is_deleted", "bool"), _col("Quantity", "quantity", "int"),
            _col("Unit price", "price", "money"), _col("Subtotal", "subtotal", "money"),
        ),
        search_columns=("product.name",),
        filters=("quantity", "price", "subtotal", "order.id"),
        default_sort=(("id", True),),
    ),
    "product": ExportSpec(
        model=Product, title="products",
        columns=(
            _col("ID", "id", "int"), _col("SKU", "sku"), _col("Name", "name"), _col("Category", "category.name"),
            _col("Price", "price", "money"), _col("Stock", "stock", "int"),
            _col("In stock", "is_in_stock", "bool"), _CREATED,
        ),
        search_columns=("name", "sku"),
        filters=("price", "stock", "is_in_stock", "created_at", "category.name"),
        default_sort=_NEWEST_FIRST,
    ),
    "category": ExportSpec(
        model=Category, title="categories",
        columns=(_col("ID", "id", "int"), _col("Name", "name"), _col("Parent", "parent.name"),
                 _col("Description", "description"), _CREATED),
        search_columns=("name",),
        filters=("name", "created_at"),
        default_sort=_NEWEST_FIRST,
    ),
    "customer": ExportSpec(
        model=Customer, title="customers",
        columns=(
            _col("ID", "id", "int"), _col("Username", "username"), _col("Email", "email"),
            _col("First name", "first_name"), _col("Last name", "last_name"),
            _col("Loyalty points", "loyalty_points", "int"), _CREATED,
        ),
        search_columns=("username", "email", "first_name", "last_name"),
        filters=("full_name", "loyalty_points", "created_at"),
        default_sort=_NEWEST_FIRST,
    ),
    "address": ExportSpec(
        model=Address, title="addresses",
        columns=(
            _col("ID", "id", "int"), _col("Customer", "user.username"), _col("Street", "street"),
            _col("ZIP code", "zip_code"), _col("City", "city"), _col("State", "state"), _col("Country", "country"),
            _col("Default", "is_default", "bool"), _CREATED,
        ),
        search_columns=("street", "city", "zip_code", "country"),
        filters=("city", "country", "is_default"),
        default_sort=_NEWEST_FIRST,
    ),
    "post": ExportSpec(
        model=Post, title="posts",
        columns=(
            _col("ID", "id", "int"), _col("Title", "title"), _col("Status", "status"),
            _col("Author", "author.username"), _col("Category", "category.name"), _col("Tags", "tags.name"),
            _col("Published", "published_at", "datetime"), _CREATED,
        ),
        search_columns=("title",),
        filters=("status", "published_at", "created_at", "author.username", "category.name"),
        default_sort=_NEWEST_FIRST,
    ),
    "comment": ExportSpec(
        model=Comment, title="comments",
        columns=(
            _col("ID", "id", "int"), _col("Post", "post.title"), _col("Author", "author_name"),
            _col("User", "user.username"), _col("Comment", "body"), _col("Approved", "is_approved", "bool"),
            _CREATED,
        ),
        search_columns=("author_name", "body"),
        filters=("is_approved", "created_at", "post.title"),
        default_sort=_NEWEST_FIRST,
    ),
    # The change history (admins only in the back office); secrets never reach it. The
    # changes are the JSON text as stored (keys sorted, not ASCII-escaped).
    "auditlog": ExportSpec(
        model=AuditLog, title="history",
        columns=(
            _col("ID", "id", "int"), _col("When", "created_at", "datetime"), _col("By", "actor_label"),
            _col("Action", "action"), _col("Type", "entity_type"), _col("Record id", "entity_id"),
            _col("Record", "entity_label"), _col("Changes", "changes"),
        ),
        search_columns=("entity_id", "entity_label"),
        filters=("entity_type", "actor_label", "action", "created_at"),
        default_sort=_NEWEST_FIRST,
    ),
    # Back-office accounts: never the password hash or session data.
    "employee": ExportSpec(
        model=Employee, title="employees",
        columns=(
            _col("ID", "id", "int"), _col("Username", "username"), _col("Name", "full_name"),
            _col("Email", "email"), _col("Role", "role"), _col("Active", "is_active", "bool"),
            _col("Department", "department"), _CREATED,
        ),
        search_columns=("username", "email", "first_name", "last_name"),
        filters=("role", "is_active", "department", "created_at"),
        default_sort=(("created_at", True),),
    ),
    "tag": ExportSpec(
        model=Tag, title="tags",
        columns=(_col("ID", "id", "int"), _col("Name", "name")),
        search_columns=("name",),
        default_sort=(("id", False),),
    ),
    "cartitem": ExportSpec(
        model=CartItem, title="cart items",
        columns=(
            _col("ID", "id", "int"), _col("Customer", "user.username"), _col("Product", "product.name"),
            _col("SKU", "product.sku"),
            # History stays readable: a product deleted since is still named, and marked.
            _col("Product deleted", "product.is_deleted", "bool"), _col("Quantity", "quantity", "int"),
            _col("Unit price", "product.price", "money"),
            # The joined product's price, not the hybrid's correlated subquery per row.
            ExportColumn("Subtotal", "subtotal", "money", sql=lambda at: at("product.price") * at("quantity")),
            _col("Added", "added_at", "datetime"),
        ),
        search_columns=("user.username", "product.name"),
        filters=("quantity", "added_at"),
        default_sort=(("added_at", True), ("id", True)),
    ),
}
