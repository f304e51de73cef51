"""Every model, importable from one place (``from admin_app.models import Order``)."""

from admin_app.models.accounts import ROLES, Address, Customer, Employee, User, UserSession
from admin_app.models.audit import AUDIT_ACTIONS, AuditLog
from admin_app.models.base import (
    JSONType,
    SoftDeleteMixin,
    TimestampMixin,
    UTCDateTime,
    VersionedMixin,
    utcnow,
)
from admin_app.models.catalog import MAX_MONEY, Category, Product
from admin_app.models.content import POST_STATUSES, Comment, Post, Tag, post_tags
from admin_app.models.sales import ORDER_STATUSES, CartItem, Order, OrderItem
from admin_app.models.soft_delete import INCLUDE_DELETED, RecordInTrash  # registers the trash rule
from admin_app.models.two_factor import RecoveryCode, TwoFactorCredential

__all__ = [
    "AUDIT_ACTIONS",
    "MAX_MONEY",
    "ORDER_STATUSES",
    "POST_STATUSES",
    "ROLES",
    "Address",
    "AuditLog",
    "INCLUDE_DELETED",
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
    "RecordInTrash",
    "RecoveryCode",
    "SoftDeleteMixin",
    "Tag",
    "TimestampMixin",
    "TwoFactorCredential",
    "UTCDateTime",
    "User",
    "UserSession",
    "VersionedMixin",
    "post_tags",
    "utcnow",
]
