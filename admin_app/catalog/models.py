"""The catalogue: a category tree and the products in it."""

from __future__ import annotations

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
    VersionedMixin,
    deleted_index,
    live_index,
)
from admin_app.extensions import db

if TYPE_CHECKING:
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
    stock: Mapped[int] = mapped_column(default=0, nullable=False)
    category_id: Mapped[int | None] = mapped_column(ForeignKey("categories.id"), index=True)

    category: Mapped[Category | None] = relationship(back_populates="products")
    # Cart lines are parts: the purge removes them itself, the ORM never nulls their product.
    cart_items: Mapped[list[CartItem]] = relationship(back_populates="product", info=PARTS, passive_deletes="all")
    order_items: Mapped[list[OrderItem]] = relationship(back_populates="product", passive_deletes="all")

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
