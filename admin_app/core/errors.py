"""Turn a database constraint violation into the message a person can act on.

The forms validate first; these messages cover what slips past them (two people saving at
once). Constraints are found by name, which the naming convention keeps the same on
SQLite and PostgreSQL.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

from flask_babel import lazy_gettext as _l
from sqlalchemy.exc import IntegrityError


@dataclass(frozen=True)
class FriendlyError:
    field: str | None
    message: Any  # a lazy string: said in the language of whoever reads it


CONSTRAINT_MESSAGES: dict[str, FriendlyError] = {
    "uq_users_username_lower": FriendlyError("username", _l("This username is already taken.")),
    "uq_users_email_lower": FriendlyError("email", _l("This email address already belongs to an account (perhaps a "
                                                      "deleted one: restore or purge it).")),
    "uq_categories_name_lower": FriendlyError("name", _l("A category with this name already exists.")),
    "uq_tags_name_lower": FriendlyError("name", _l("A tag with this name already exists.")),
    "uq_products_sku": FriendlyError("sku", _l("Another product already has this SKU.")),
    "uq_cart_items_user_id_product_id": FriendlyError("product", _l("This product is already in the customer's cart.")),
    "ck_products_price_positive": FriendlyError("price", _l("Price must be greater than 0.")),
    "ck_products_stock_non_negative": FriendlyError("stock", _l("Stock cannot be negative.")),
    "ck_order_items_quantity_positive": FriendlyError("items", _l("Every item needs a quantity of at least 1.")),
    "ck_order_items_price_non_negative": FriendlyError("items", _l("An item's price cannot be negative.")),
    "ck_cart_items_quantity_positive": FriendlyError("quantity", _l("Quantity must be at least 1.")),
    "ck_orders_shipping_fee_non_negative": FriendlyError("shipping_fee", _l("Shipping fee cannot be negative.")),
    "ck_orders_status_allowed": FriendlyError("status", _l("Choose one of the listed statuses.")),
    "ck_posts_status_allowed": FriendlyError("status", _l("Choose one of the listed statuses.")),
    "ck_users_role_allowed": FriendlyError("role", _l("Choose one of the listed roles.")),
    "ck_categories_not_own_parent": FriendlyError("parent", _l("A category cannot be its own parent.")),
    # Reached only when two saves choose a default address for one customer at once.
    "uq_addresses_user_id_default": FriendlyError(
        "is_default", _l("This customer's default address was just changed by someone else: reload and choose again.")),
}

GENERIC = FriendlyError(None, _l("The record could not be saved because it conflicts with other data. "
                                 "Reload the page and check the values."))
REFERENCED = FriendlyError(None, _l("This record is still used by other records and cannot be removed."))


def describe_integrity_error(error: IntegrityError) -> FriendlyError:
    """The constraint's message, as text in the reader's language."""
    friendly = _describe(error)
    return replace(friendly, message=str(friendly.message))


def _describe(error: IntegrityError) -> FriendlyError:
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
