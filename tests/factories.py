"""Small builders for test data: each returns a committed, valid record."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from admin_app.accounts.models import Address, Customer, Employee
from admin_app.catalog.models import Category, Product
from admin_app.content.models import Comment, Post, Tag
from admin_app.extensions import db
from admin_app.sales.models import Order, OrderItem

_counter = itertools.count(1)


def _save(obj: Any) -> Any:
    db.session.add(obj)
    db.session.commit()
    return obj


def customer(**fields: Any) -> Customer:
    n = next(_counter)
    defaults = dict(username=f"customer{n}", email=f"customer{n}@example.com", first_name="Cara",
                    last_name=f"Client{n}")
    return _save(Customer(**{**defaults, **fields}))


def address(user: Customer | None = None, **fields: Any) -> Address:
    defaults = dict(street="Hauptstraße 1", city="Berlin", state="BE", zip_code="10115", country="Germany")
    return _save(Address(user=user or customer(), **{**defaults, **fields}))


def category(**fields: Any) -> Category:
    return _save(Category(**{"name": f"Category {next(_counter)}", **fields}))


def product(**fields: Any) -> Product:
    n = next(_counter)
    defaults = dict(name=f"Product {n}", sku=f"SKU-T{n}", price=Decimal("10.00"), stock=1_000_000)
    return _save(Product(**{**defaults, **fields}))


# The statuses an order passes through, after pending, to reach each status.
LIFE_CYCLE_PATHS = {"pending": (), "paid": ("paid",), "shipped": ("paid", "shipped"),
                    "delivered": ("paid", "shipped", "delivered"), "cancelled": ("cancelled",)}


def order(user: Customer | None = None, items: list[tuple[Product, int, Decimal]] | None = None,
          status: str = "pending", **fields: Any) -> Order:
    """A new order with its items, then moved along its life cycle to ``status`` (new orders
    start pending, and a status is reached only through the ones before it)."""
    user = user or customer()
    ship_to = user.addresses[0] if user.addresses else address(user)
    new = Order(user=user, address=ship_to, **fields)
    for prod, quantity, price in items or []:
        new.items.append(OrderItem(product=prod, quantity=quantity, price=price))
    _save(new)
    for step in LIFE_CYCLE_PATHS[status]:
        new.status = step
        db.session.commit()
    return new


def employee(**fields: Any) -> Employee:
    n = next(_counter)
    return _save(Employee(**{"username": f"employee{n}", "email": f"employee{n}@shop.example", "role": "staff",
                             **fields}))


def post(author: Employee | None = None, **fields: Any) -> Post:
    defaults = dict(title=f"Post {next(_counter)}", content="Hello", status="draft")
    return _save(Post(author=author or employee(), **{**defaults, **fields}))


def tag(**fields: Any) -> Tag:
    return _save(Tag(**{"name": f"tag{next(_counter)}", **fields}))


def comment(on: Post | None = None, **fields: Any) -> Comment:
    return _save(Comment(post=on or post(), **{"author_name": "Guest", "body": "Nice", **fields}))


# --- helpers for the export tests ----------------------------------------------------------


def cart_item(user: Customer | None = None, product_: Product | None = None, **fields: Any) -> Any:
    from admin_app.sales.models import CartItem

    return _save(CartItem(user=user or customer(), product=product_ or product(), **{"quantity": 1, **fields}))


def many_orders(count: int, user: Customer | None = None, product_: Product | None = None,
                **fields: Any) -> list[Order]:
    """``count`` orders of one customer, one item each, committed together (fast)."""
    user = user or customer()
    ship_to = user.addresses[0] if user.addresses else address(user)
    item_product = product_ or product()
    orders = []
    # No autoflush: loading an expired attribute mid-loop must not flush half-built orders.
    with db.session.no_autoflush:
        for _ in range(count):
            new = Order(user=user, address=ship_to, **fields)
            new.items.append(OrderItem(product=item_product, quantity=1, price=item_product.price))
            db.session.add(new)
            orders.append(new)
    db.session.commit()
    return orders


# --- helpers for the change-history (audit) tests ------------------------------------------


def audit_entries(record: Any = None, action: str | None = None) -> list[Any]:
    """Change-history entries, oldest first; only those of ``record`` / ``action`` if given."""
    from sqlalchemy import inspect as _inspect
    from sqlalchemy import select as _select

    from admin_app.audit.models import AuditLog

    query = _select(AuditLog).order_by(AuditLog.id)
    if record is not None:
        query = query.where(AuditLog.entity_type == type(record).__name__,
                            AuditLog.entity_id == ",".join(str(v) for v in _inspect(record).identity))
    if action is not None:
        query = query.where(AuditLog.action == action)
    # Entries are written with Core behind the session's back: always take the stored values.
    return list(db.session.scalars(query.execution_options(populate_existing=True)))
