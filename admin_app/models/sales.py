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
    event,
    inspect,
    select,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from admin_app.extensions import db
from admin_app.models.accounts import Address, Customer
from admin_app.models.base import (
    PARTS_IN_ITS_TRASH,
    SoftDeleteMixin,
    TimestampMixin,
    UTCDateTime,
    VersionedMixin,
    deleted_index,
    live_index,
    utcnow,
)
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
    # The sum of the items (price paid × quantity), kept up to date at every flush by
    # ``_keep_order_subtotals`` below: lists, sorts, exports and the dashboard read one
    # column instead of adding up a million order items.
    items_subtotal: Mapped[Decimal] = mapped_column(Numeric(12, 2), default=ZERO, server_default="0",
                                                    nullable=False)

    user: Mapped[Customer] = relationship(back_populates="orders")
    address: Mapped[Address] = relationship(back_populates="orders")
    # In the trash with the order: hidden while it is deleted (models.soft_delete).
    items: Mapped[list[OrderItem]] = relationship(
        back_populates="order", cascade="all, delete-orphan", order_by=OrderItem.id, info=PARTS_IN_ITS_TRASH
    )

    __table_args__ = (
        CheckConstraint(f"status IN {ORDER_STATUSES!r}", name="status_allowed"),
        CheckConstraint("shipping_fee >= 0", name="shipping_fee_non_negative"),
        Index("ix_orders_status_order_date", "status", "order_date"),
        # The order list: live orders, newest first.
        live_index("ix_orders_live_order_date", "order_date", "id"),
        deleted_index("ix_orders_deleted_order_date", "order_date", "id"),
    )

    @hybrid_property
    def subtotal(self) -> Decimal:
        if "items" in self.__dict__:  # loaded (perhaps changed and not yet flushed): add them up
            return sum((item.subtotal for item in self.items if item.price is not None), ZERO)
        return self.items_subtotal

    @subtotal.inplace.expression
    @classmethod
    def _subtotal_expression(cls) -> ColumnElement[Decimal]:
        return cls.items_subtotal

    @hybrid_property
    def total(self) -> Decimal:
        return self.subtotal + self.shipping_fee

    @total.inplace.expression
    @classmethod
    def _total_expression(cls) -> ColumnElement[Decimal]:
        return cls.subtotal + cls.shipping_fee

    def __str__(self) -> str:
        return f"Order #{self.id}"

    def __repr__(self) -> str:
        return f"<Order {self.id} {self.status}>"


def order_items_subtotal(order: Order, removed: set[Any]) -> Decimal:
    return sum(((item.price or ZERO) * (item.quantity or 0) for item in order.items if item not in removed),
               ZERO).quantize(Decimal("0.01"))


@event.listens_for(Session, "before_flush")
def _keep_order_subtotals(session: Session, flush_context: Any, instances: Any) -> None:
    """Recompute ``items_subtotal`` of every order whose items this flush adds, changes or
    removes (including an item moved from one order to another)."""
    touched: set[Order] = set()
    for record in (*session.new, *session.dirty, *session.deleted):
        if isinstance(record, Order):
            if record in session.new or "items" in record.__dict__:
                touched.add(record)
        elif isinstance(record, OrderItem):
            if record.order is not None:
                touched.add(record.order)
            touched.update(o for o in inspect(record).attrs.order.history.deleted if o is not None)
            if record in session.deleted and record.order_id is not None:
                parent = session.get(Order, record.order_id)
                if parent is not None:
                    touched.add(parent)
    removed = set(session.deleted)
    for order in touched:
        if order not in removed:
            subtotal = order_items_subtotal(order, removed)
            if order.items_subtotal != subtotal:
                order.items_subtotal = subtotal
