"""Small builders for test data: each returns a committed, valid record."""

from __future__ import annotations

import itertools
from decimal import Decimal
from typing import Any

from admin_app.extensions import db
from admin_app.models import Address, Category, Comment, Customer, Employee, Order, OrderItem, Post, Product, Tag

_counter = itertools.count(1)


def _save(obj: Any) -> Any:
    db.session.add(obj)
    db.session.commit()
    return obj


def customer(**fields: Any) -> Customer:
    n = next(_counter)
    defaults = dict(username=f"customer{n}", email=f"customer{n}@example.com", first_name="Cara", last_name=f"Client{n}")
    return _save(Customer(**{**defaults, **fields}))


def address(user: Customer | None = None, **fields: Any) -> Address:
    defaults = dict(street="Hauptstraße 1", city="Berlin", state="BE", zip_code="10115", country="Germany")
    return _save(Address(user=user or customer(), **{**defaults, **fields}))


def category(**fields: Any) -> Category:
    return _save(Category(**{"name": f"Category {next(_counter)}", **fields}))


def product(**fields: Any) -> Product:
    n = next(_counter)
    defaults = dict(name=f"Product {n}", sku=f"SKU-T{n}", price=Decimal("10.00"), stock=5)
    return _save(Product(**{**defaults, **fields}))


def order(user: Customer | None = None, items: list[tuple[Product, int, Decimal]] | None = None, **fields: Any) -> Order:
    user = user or customer()
    ship_to = user.addresses[0] if user.addresses else address(user)
    new = Order(user=user, address=ship_to, **fields)
    for prod, quantity, price in items or []:
        new.items.append(OrderItem(product=prod, quantity=quantity, price=price))
    return _save(new)


def employee(**fields: Any) -> Employee:
    n = next(_counter)
    return _save(Employee(**{"username": f"employee{n}", "email": f"employee{n}@shop.example", "role": "staff", **fields}))


def post(author: Employee | None = None, **fields: Any) -> Post:
    defaults = dict(title=f"Post {next(_counter)}", content="Hello", status="draft")
    return _save(Post(author=author or employee(), **{**defaults, **fields}))


def tag(**fields: Any) -> Tag:
    return _save(Tag(**{"name": f"tag{next(_counter)}", **fields}))


def comment(on: Post | None = None, **fields: Any) -> Comment:
    return _save(Comment(post=on or post(), **{"author_name": "Guest", "body": "Nice", **fields}))
