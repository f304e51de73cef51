"""Carts and orders. Order items keep the price paid, whatever the product costs later.

An order and its items are one whole: an item is a part of its order (``OrderItem.__whole__``),
so changing it moves the order's version and shows in the order's history. The order's life
cycle (:data:`TRANSITIONS`, :data:`EDITABLE`, :data:`DELETABLE`) is the one authority on what
may change, checked at every flush (:func:`_obey_the_life_cycle`) whatever path made the change.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
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

from admin_app.accounts.models import Address, Customer
from admin_app.catalog.models import Product
from admin_app.core.models import (
    PARTS_IN_ITS_TRASH,
    DataRuleError,
    SoftDeleteMixin,
    TimestampMixin,
    UTCDateTime,
    VersionedMixin,
    changed_parts,
    committed_value,
    deleted_index,
    live_index,
    to_cents,
    utcnow,
    wholes_of,
)
from admin_app.extensions import db

ORDER_STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled")
ZERO = Decimal("0.00")


class CartItem(VersionedMixin, db.Model):
    __tablename__ = "cart_items"
    kind_label = _l("Cart item")  # what staff call one, in their language

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
        # The product is a reference: it counts in the trash too (table columns, so the
        # trash rule's criteria leave it alone), as ``self.product`` loads in Python.
        products = Product.__table__
        price = select(products.c.price).where(products.c.id == cls.product_id).scalar_subquery()
        return price * cls.quantity

    def __repr__(self) -> str:
        return f"<CartItem {self.id} product={self.product_id} x{self.quantity}>"


class OrderItem(VersionedMixin, db.Model):
    __tablename__ = "order_items"
    kind_label = _l("Order item")  # what staff call one, in their language

    id: Mapped[int] = mapped_column(primary_key=True)
    order_id: Mapped[int] = mapped_column(ForeignKey("orders.id"), index=True, nullable=False)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id"), index=True, nullable=False)
    quantity: Mapped[int] = mapped_column(nullable=False)
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)

    order: Mapped[Order] = relationship(back_populates="items")
    product: Mapped[Product] = relationship(back_populates="order_items")

    # Part of its order: see ``core.models._one_version_per_whole``.
    __whole__ = "order"

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
    kind_label = _l("Order")  # what staff call one, in their language

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
    # In the trash with the order: hidden while it is deleted (core.soft_delete).
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

    def deletion_problem(self, status: str | None = None) -> str | None:
        """Why this order may not be deleted, moved to the trash or purged (None: it may):
        only pending and cancelled ones may. ``status`` is the stored one when it differs
        from the attribute (during a flush). The flush enforces it (:func:`_check_order`);
        a bulk action asks first, to name each refused order."""
        status = status or self.status
        if status in DELETABLE:
            return None
        return _("%(order)s is %(status)s: only pending and cancelled orders can be deleted; cancel it first, or "
                 "keep it.", order=self, status=status_word(status))

    def __str__(self) -> str:
        return _("Order #%(id)s", id=self.id)

    def __repr__(self) -> str:
        return f"<Order {self.id} {self.status}>"


def order_items_subtotal(order: Order, removed: set[Any]) -> Decimal:
    return to_cents(sum(((item.price or ZERO) * (item.quantity or 0) for item in order.items
                         if item not in removed), ZERO)) or ZERO


@event.listens_for(Session, "before_flush")
def _keep_order_subtotals(session: Session, flush_context: Any, instances: Any) -> None:
    """Recompute ``items_subtotal`` of every order whose items this flush adds, changes or
    removes (including an item moved from one order to another)."""
    touched: set[Order] = set()
    for record in (*session.new, *session.dirty, *session.deleted):
        if isinstance(record, Order) and (record in session.new or "items" in record.__dict__):
            touched.add(record)
        elif isinstance(record, OrderItem):
            touched.update(_orders_of_item(session, record))
    removed = set(session.deleted)
    for order in touched - removed:
        subtotal = order_items_subtotal(order, removed)
        if order.items_subtotal != subtotal:
            order.items_subtotal = subtotal


def _orders_of_item(session: Session, item: OrderItem) -> set[Order]:
    """The orders whose subtotal a flushed item changes: its order, the one it leaves, and
    (when it is deleted) the order it was in."""
    orders = {order for order in (item.order, *inspect(item).attrs.order.history.deleted) if order is not None}
    if item in session.deleted and item.order_id is not None:
        parent = session.get(Order, item.order_id)
        if parent is not None:
            orders.add(parent)
    return orders


# --- the order's life cycle: the one authority on what may change -------------------------

# The statuses that may follow each one.
TRANSITIONS: dict[str, tuple[str, ...]] = {
    "pending": ("paid", "cancelled"),
    "paid": ("shipped", "cancelled"),
    "shipped": ("delivered",),
    "delivered": (),
    "cancelled": (),
}
# What may change in an order, by the status it has before the change. ``items`` are its
# order items; the order's date never changes, its status only along TRANSITIONS.
EDITABLE: dict[str, frozenset[str]] = {
    "pending": frozenset({"user", "address", "shipping_fee", "items", "notes"}),
    "paid": frozenset({"address", "notes"}),
    "shipped": frozenset({"notes"}),
    "delivered": frozenset({"notes"}),
    "cancelled": frozenset({"notes"}),
}
# Only these may be deleted (moved to the trash, or purged); others are cancelled or kept.
DELETABLE = ("pending", "cancelled")
# The fields the rule judges, each with the attributes that hold it: a form sets ``user``,
# code may set ``user_id``.
GUARDED_FIELDS: dict[str, tuple[str, ...]] = {
    "user": ("user", "user_id"),
    "address": ("address", "address_id"),
    "shipping_fee": ("shipping_fee",),
    "notes": ("notes",),
    "order_date": ("order_date",),
}
FIELD_LABELS = {"user": _l("customer"), "address": _l("address"), "shipping_fee": _l("shipping fee"),
                "notes": _l("notes"), "order_date": _l("date"), "items": _l("items")}
STATUS_WORDS = {"pending": _l("pending"), "paid": _l("paid"), "shipped": _l("shipped"),
                "delivered": _l("delivered"), "cancelled": _l("cancelled")}


def status_word(status: str | None) -> str:
    return str(STATUS_WORDS.get(status or "", status))


def transition_problem(current: str, target: str) -> str | None:
    """Why an order cannot go from ``current`` to ``target`` (None: it may)."""
    if target == current:
        return _("already %(status)s", status=status_word(target))
    if target not in TRANSITIONS.get(current, ()):
        return _("a %(current)s order cannot become %(target)s", current=status_word(current),
                 target=status_word(target))
    return None


def editable_fields(status: str | None) -> frozenset[str]:
    """What may change in an order with this status (a new order: everything)."""
    return EDITABLE["pending"] if status is None else EDITABLE.get(status, frozenset())


def _changed(session: Session, order: Order, keys: tuple[str, ...]) -> bool:
    """Whether this flush gives the order a new value in any of ``keys`` (setting what it
    already holds, as a form does for every field, is no change)."""
    state = inspect(order)
    for key in keys:
        history = state.attrs[key].history
        if not history.added:
            continue
        new = history.added[0]
        if key in state.mapper.relationships:  # compare by the foreign key it sets
            (column,) = state.mapper.relationships[key].local_columns
            identity = inspect(new).identity if new is not None else None
            stored = committed_value(session, order, state.mapper.get_property_by_column(column).key)
            if identity is not None and identity[0] == stored:
                continue
            return True
        if new != committed_value(session, order, key):
            return True
    return False


def _check_order(session: Session, order: Order) -> None:
    """The life cycle's rules for one order this flush changes or deletes."""
    status = committed_value(session, order, "status")
    if order in session.deleted:
        if problem := order.deletion_problem(status):
            raise DataRuleError(problem)
    elif status is None:  # new
        if order.status not in (None, "pending"):
            raise DataRuleError(_("A new order starts as pending, not %(status)s.", status=status_word(order.status)),
                                field="status")
    else:
        _check_order_change(session, order, status)


def _check_order_change(session: Session, order: Order, status: str) -> None:
    """A stored order's status move, frozen fields, and move to the trash."""
    if order.status != status and (problem := transition_problem(status, order.status)):
        raise DataRuleError(f"{order}: {problem}.", field="status")
    allowed = EDITABLE.get(status, frozenset())
    for field_name, keys in GUARDED_FIELDS.items():
        if field_name not in allowed and _changed(session, order, keys):
            raise DataRuleError(_("%(order)s is %(status)s: its %(field)s can no longer change.", order=order,
                                  status=status_word(status), field=FIELD_LABELS[field_name]), field=field_name)
    moved_to_the_trash = committed_value(session, order, "deleted_at") is None and order.deleted_at is not None
    if moved_to_the_trash and (problem := order.deletion_problem(status)):
        raise DataRuleError(problem)


@event.listens_for(Session, "before_flush")
def _obey_the_life_cycle(session: Session, flush_context: Any, instances: Any) -> None:
    """Refuse, before anything is written, a flush that breaks the order's life cycle: a new
    order that is not pending, a status change off :data:`TRANSITIONS`, a change to what the
    order's status freezes (:data:`EDITABLE`; its items included, through any path: the order
    form, the Order items page, code), deleting an order that is not pending or cancelled.
    Judged on the status the order had before the flush; if that was stale (another session
    moved the order meanwhile), the order's version check fails the flush instead."""
    deleted, dirty = set(session.deleted), set(session.dirty) - set(session.deleted)
    for order in (*session.new, *dirty, *deleted):
        if isinstance(order, Order) and (order not in dirty or session.is_modified(order, include_collections=False)):
            _check_order(session, order)
    _check_changed_items(session, deleted)


def _check_changed_items(session: Session, deleted: set[Any]) -> None:
    """Items added, changed or removed only in orders whose status lets their items change."""
    checked: set[Order] = set()
    for item in changed_parts(session):
        orders = wholes_of(session, item) if isinstance(item, OrderItem) else []
        for order in orders:
            if order in checked or order in deleted or inspect(order).key is None:
                continue  # a new order's items are its own; a deleted order was judged above
            checked.add(order)
            status = committed_value(session, order, "status")
            if "items" not in editable_fields(status):
                raise DataRuleError(_("%(order)s is %(status)s: its items can no longer change (%(item)s).",
                                      order=order, status=status_word(status), item=item), field="items")
