"""Carts and orders. Order items keep the price paid, whatever the product costs later."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    CheckConstraint,
    ForeignKey,
    Index,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
    select,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, query_expression, relationship, with_expression
from sqlalchemy.sql.elements import ColumnElement

from admin_app.extensions import db
from admin_app.models.accounts import Address, Customer
from admin_app.models.base import SoftDeleteMixin, TimestampMixin, UTCDateTime, VersionedMixin, utcnow
from admin_app.models.catalog import Product

ORDER_STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled")
ZERO = Decimal("0.00")


class CartItem(VersionedMixin, db.Model):
    __tablename__ = "cart_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True, nullable=False)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True, nullable=False)
    quantity: Mapped[int] = mapped_column(default=1, nullable=False)
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)

    user: Mapped[Customer] = relationship(back_populates="cart_items")
    product: Mapped[Product] = relationship(back_populates="cart_items")

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        # One line per product in a cart: adding again raises the quantity.
        UniqueConstraint("user_id", "product_id", name="uq_cart_items_user_id_product_id"),
    )

    @hybrid_property
    def subtotal(self) -> Decimal:
        return self.product.price * self.quantity

    @subtotal.inplace.expression
    @classmethod
    def _subtotal_expression(cls) -> ColumnElement[Decimal]:
        price = select(Product.price).where(Product.id == cls.product_id).scalar_subquery()
        return price * cls.quantity

    def __repr__(self) -> str:
        return f"<CartItem {self.id} product={self.product_id} x{self.quantity}>"


class OrderItem(VersionedMixin, db.Model):
    __tablename__ = "order_items"

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True, nullable=False)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True, nullable=False)
    quantity: Mapped[int] = mapped_column(nullable=False)
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)

    order: Mapped[Order] = relationship(back_populates="items")
    product: Mapped[Product] = relationship(back_populates="order_items")

    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("price >= 0", name="price_non_negative"),
    )

    @hybrid_property
    def subtotal(self) -> Decimal:
        return self.price * self.quantity

    @subtotal.inplace.expression
    @classmethod
    def _subtotal_expression(cls) -> ColumnElement[Decimal]:
        return cls.price * cls.quantity

    def __str__(self) -> str:
        return f"{self.quantity} × {self.product}"

    def __repr__(self) -> str:
        return f"<OrderItem {self.id} order={self.order_id} product={self.product_id} x{self.quantity}>"


class Order(TimestampMixin, SoftDeleteMixin, VersionedMixin, db.Model):
    __tablename__ = "orders"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True, nullable=False)
    address_id: Mapped[int] = mapped_column(ForeignKey("addresses.id"), index=True, nullable=False)
    order_date: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False, index=True)
    status: Mapped[str] = mapped_column(String(20), default="pending", nullable=False, index=True)
    shipping_fee: Mapped[Decimal] = mapped_column(Numeric(10, 2), default=ZERO, nullable=False)
    notes: Mapped[str | None] = mapped_column(Text)
    # Filled by ``with_totals()`` in list queries: the subtotal computed by the database
    # for a whole page at once, instead of loading every order's items.
    queried_subtotal: Mapped[Decimal | None] = query_expression()
    queried_item_count: Mapped[int | None] = query_expression()

    user: Mapped[Customer] = relationship(back_populates="orders")
    address: Mapped[Address] = relationship(back_populates="orders")
    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by=OrderItem.id
    )

    __table_args__ = (
        CheckConstraint(f"status IN {ORDER_STATUSES!r}", name="status_allowed"),
        CheckConstraint("shipping_fee >= 0", name="shipping_fee_non_negative"),
        Index("ix_orders_status_order_date", "status", "order_date"),
        # The order list: live orders, newest first.
        Index("ix_orders_live_order_date", "deleted_at", "order_date", "id"),
    )

    @hybrid_property
    def subtotal(self) -> Decimal:
        if self.queried_subtotal is not None:
            return Decimal(self.queried_subtotal).quantize(Decimal("0.01"))
        return sum((item.subtotal for item in self.items), ZERO)

    @subtotal.inplace.expression
    @classmethod
    def _subtotal_expression(cls) -> ColumnElement[Decimal]:
        return (
            select(func.coalesce(func.sum(OrderItem.price * OrderItem.quantity), ZERO))
            .where(OrderItem.order_id == cls.id)
            .correlate_except(OrderItem)
            .scalar_subquery()
        )

    @hybrid_property
    def total(self) -> Decimal:
        return self.subtotal + self.shipping_fee

    @total.inplace.expression
    @classmethod
    def _total_expression(cls) -> ColumnElement[Decimal]:
        return cls.subtotal + cls.shipping_fee

    @property
    def item_count(self) -> int:
        return self.queried_item_count if self.queried_item_count is not None else len(self.items)

    @classmethod
    def with_totals(cls) -> tuple[Any, Any]:
        """Query options: ``subtotal`` (so ``total``) and ``item_count`` computed in the same
        SELECT, for lists and exports that would otherwise load every order's items."""
        item_count = (
            select(func.count(OrderItem.id)).where(OrderItem.order_id == cls.id)
            .correlate_except(OrderItem).scalar_subquery()
        )
        return (with_expression(cls.queried_subtotal, cls.subtotal.expression),
                with_expression(cls.queried_item_count, item_count))

    def __str__(self) -> str:
        return f"Order #{self.id}"

    def __repr__(self) -> str:
        return f"<Order {self.id} {self.status}>"
