"""The catalogue: a category tree, the products in it, and the ledger of their stock
(:class:`StockMovement`; written by :mod:`admin_app.catalog.stock`)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING

from flask_babel import lazy_gettext as _l
from sqlalchemy import CheckConstraint, ForeignKey, Index, Numeric, String, Text
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement

from admin_app.core.models import (
    PARTS,
    SoftDeleteMixin,
    TimestampMixin,
    UTCDateTime,
    VersionedMixin,
    deleted_index,
    live_index,
    utcnow,
)
from admin_app.extensions import db

if TYPE_CHECKING:
    from admin_app.accounts.models import User
    from admin_app.content.models import Post
    from admin_app.sales.models import CartItem, OrderItem



class Category(TimestampMixin, SoftDeleteMixin, VersionedMixin, db.Model):
    __tablename__ = "categories"
    kind_label = _l("Category")  # what staff call one, in their language

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(50), nullable=False)
    description: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)

    parent: Mapped[Category | None] = relationship(back_populates="children", remote_side=[id])
    children: Mapped[list[Category]] = relationship(back_populates="parent", order_by="Category.name",
                                                    passive_deletes="all")
    products: Mapped[list[Product]] = relationship(back_populates="category", passive_deletes="all")
    posts: Mapped[list[Post]] = relationship(back_populates="category", passive_deletes="all")

    __table_args__ = (
        Index("uq_categories_name_lower", db.func.lower(name), unique=True),
        CheckConstraint("parent_id IS NULL OR parent_id <> id", name="not_own_parent"),
        live_index("ix_categories_live_name", "name"),
        deleted_index("ix_categories_deleted_name", "name"),
    )

    def ancestors(self) -> list[Category]:
        """Parents from the nearest up to the root (guarded against cycles)."""
        chain: list[Category] = []
        node = self.parent
        while node is not None and node not in chain and node is not self:
            chain.append(node)
            node = node.parent
        return chain

    @property
    def path(self) -> str:
        return " / ".join([c.name for c in reversed(self.ancestors())] + [self.name])

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<Category {self.id} {self.name!r}>"


class Product(TimestampMixin, SoftDeleteMixin, VersionedMixin, db.Model):
    __tablename__ = "products"
    kind_label = _l("Product")  # what staff call one, in their language

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(100), nullable=False, index=True)
    sku: Mapped[str | None] = mapped_column(String(32), unique=True)
    description: Mapped[str | None] = mapped_column(Text)
    price: Mapped[Decimal] = mapped_column(Numeric(10, 2), nullable=False)
    # The sum of the product's stock movements, written by the stock ledger alone
    # (``catalog.stock``): a stored product's stock cannot be assigned.
    stock: Mapped[int] = mapped_column(default=0, nullable=False)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)

    category: Mapped[Category | None] = relationship(back_populates="products")
    # Cart lines are parts: the purge removes them itself, the ORM never nulls their product.
    cart_items: Mapped[list[CartItem]] = relationship(back_populates="product", info=PARTS, passive_deletes="all")
    order_items: Mapped[list[OrderItem]] = relationship(back_populates="product", passive_deletes="all")
    # The ledger of its stock: parts, so deleting a product (which no order refers to) removes
    # them with it, in the purge and in plain ORM code alike.
    stock_movements: Mapped[list[StockMovement]] = relationship(back_populates="product", info=PARTS,
                                                                cascade="all, delete-orphan", passive_deletes=True)

    __table_args__ = (
        CheckConstraint("price > 0", name="price_positive"),
        CheckConstraint("stock >= 0", name="stock_non_negative"),
        # The product list: live products, last updated first.
        live_index("ix_products_live_updated_at", "updated_at", "id"),
        deleted_index("ix_products_deleted_updated_at", "updated_at", "id"),
    )

    @hybrid_property
    def is_in_stock(self) -> bool:
        return self.stock > 0

    @is_in_stock.inplace.expression
    @classmethod
    def _is_in_stock_expression(cls) -> ColumnElement[bool]:
        return cls.stock > 0

    def __str__(self) -> str:
        return self.name

    def __repr__(self) -> str:
        return f"<Product {self.id} {self.name!r}>"


#: Why stock moved. Stored as these codes; :data:`REASON_LABELS` says them in words.
REASONS = ("opening_balance", "order_placed", "order_changed", "order_cancelled", "order_deleted",
           "order_restored", "received", "correction", "import")
REASON_LABELS = {
    "opening_balance": _l("Opening balance"), "order_placed": _l("Order placed"),
    "order_changed": _l("Order changed"), "order_cancelled": _l("Order cancelled"),
    "order_deleted": _l("Order deleted"), "order_restored": _l("Order restored"),
    "received": _l("Received"), "correction": _l("Correction"), "import": _l("Import"),
}
#: The reasons staff give when they adjust stock by hand.
MANUAL_REASONS = ("received", "correction")


def reason_label(reason: str | None) -> str:
    return str(REASON_LABELS.get(reason or "", reason or ""))


class StockMovement(db.Model):
    """One change to one product's stock. Written only by ``catalog.stock.apply_movements``;
    never changed afterwards (the ORM refuses: ``catalog.stock._movements_are_written_by_the_ledger``)."""

    __tablename__ = "stock_movements"
    kind_label = _l("Stock movement")  # what staff call one, in their language
    # Each movement enters its product's history itself (``catalog.stock.apply_movements``).
    __audited__ = False

    id: Mapped[int] = mapped_column(primary_key=True)
    product_id: Mapped[int] = mapped_column(ForeignKey("products.id", ondelete="CASCADE"), nullable=False)
    quantity: Mapped[int] = mapped_column(nullable=False)
    # The product's stock once this movement was applied.
    balance: Mapped[int] = mapped_column(nullable=False)
    reason: Mapped[str] = mapped_column(String(20), nullable=False)
    # SET NULL: purging an order keeps its movements; ``order_number`` still names it.
    order_id: Mapped[int | None] = mapped_column(ForeignKey("orders.id", ondelete="SET NULL"), index=True)
    order_number: Mapped[str | None] = mapped_column(String(20))
    actor_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"), index=True)
    actor_label: Mapped[str] = mapped_column(String(80), nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    note: Mapped[str | None] = mapped_column(Text)

    product: Mapped[Product] = relationship(back_populates="stock_movements")
    actor: Mapped[User | None] = relationship(foreign_keys=[actor_id])

    __table_args__ = (
        CheckConstraint("quantity <> 0", name="quantity_not_zero"),
        CheckConstraint("balance >= 0", name="balance_non_negative"),
        CheckConstraint(f"reason IN {REASONS!r}", name="reason_allowed"),
        # A product's page: its movements, newest first.
        Index("ix_stock_movements_product_id_created_at", "product_id", "created_at", "id"),
    )

    @property
    def reason_label(self) -> str:
        return reason_label(self.reason)

    def __str__(self) -> str:
        return f"{self.quantity:+d} {self.product} ({self.reason_label})"

    def __repr__(self) -> str:
        return f"<StockMovement {self.id} product={self.product_id} {self.quantity:+d} {self.reason}>"
