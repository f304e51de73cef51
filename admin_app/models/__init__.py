"""Every model, importable from one place (``from admin_app.models import Order``)."""

from admin_app.models.accounts import ROLES, Address, Customer, Employee, User
from admin_app.models.base import JSONType, SoftDeleteMixin, TimestampMixin, UTCDateTime, utcnow
from admin_app.models.catalog import MAX_MONEY, Category, Product
from admin_app.models.content import POST_STATUSES, Comment, Post, Tag, post_tags
from admin_app.models.sales import ORDER_STATUSES, CartItem, Order, OrderItem

__all__ = [
    "MAX_MONEY",
    "ORDER_STATUSES",
    "POST_STATUSES",
    "ROLES",
    "Address",
    "CartItem",
    "Category",
    "Comment",
    "Customer",
    "Employee",
    "JSONType",
    "Order",
    "OrderItem",
    "Post",
    "Product",
    "SoftDeleteMixin",
    "Tag",
    "TimestampMixin",
    "UTCDateTime",
    "User",
    "post_tags",
    "utcnow",
]
