"""Turn a database constraint violation into the message a person can act on.

The forms validate first; these messages cover what slips past them (two people saving at
once). Constraints are found by name, which the naming convention keeps the same on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy.exc import IntegrityError


@dataclass(frozen=True)
class FriendlyError:
    field: str | None
    message: str


CONSTRAINT_MESSAGES: dict[str, FriendlyError] = {
    "uq_users_username_lower": FriendlyError("username", "This username is already taken."),
    "uq_users_email_lower": FriendlyError(
        "email", "This email address already belongs to an account (perhaps a deleted one: restore or purge it)."),
    "uq_categories_name_lower": FriendlyError("name", "A category with this name already exists."),
    "uq_tags_name_lower": FriendlyError("name", "A tag with this name already exists."),
    "uq_products_sku": FriendlyError("sku", "Another product already has this SKU."),
    "uq_cart_items_user_id_product_id": FriendlyError("product", "This product is already in the customer's cart."),
    "ck_products_price_positive": FriendlyError("price", "Price must be greater than 0."),
    "ck_products_stock_non_negative": FriendlyError("stock", "Stock cannot be negative."),
    "ck_order_items_quantity_positive": FriendlyError("items", "Every item needs a quantity of at least 1."),
    "ck_order_items_price_non_negative": FriendlyError("items", "An item's price cannot be negative."),
    "ck_cart_items_quantity_positive": FriendlyError("quantity", "Quantity must be at least 1."),
    "ck_orders_shipping_fee_non_negative": FriendlyError("shipping_fee", "Shipping fee cannot be negative."),
    "ck_orders_status_allowed": FriendlyError("status", "Choose one of the listed statuses."),
    "ck_posts_status_allowed": FriendlyError("status", "Choose one of the listed statuses."),
    "ck_users_role_allowed": FriendlyError("role", "Choose one of the listed roles."),
    "ck_categories_not_own_parent": FriendlyError("parent", "A category cannot be its own parent."),
    # Reached only when two saves choose a default address for one customer at once.
    "uq_addresses_user_id_default": FriendlyError(
        "is_default", "This customer's default address was just changed by someone else: reload and choose again."),
}

GENERIC = FriendlyError(None, "The record could not be saved because it conflicts with other data. "
                              "Reload the page and check the values.")
REFERENCED = FriendlyError(None, "This record is still used by other records and cannot be removed.")


def describe_integrity_error(error: IntegrityError) -> FriendlyError:
    text = str(error.orig)
    constraint = getattr(getattr(error.orig, "diag", None), "constraint_name", None)
    if constraint in CONSTRAINT_MESSAGES:
        return CONSTRAINT_MESSAGES[constraint]
    for name, friendly in CONSTRAINT_MESSAGES.items():
        if name in text:
            return friendly
    if "FOREIGN KEY" in text.upper():
        return REFERENCED
    return GENERIC
