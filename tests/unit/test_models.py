"""The data model: constraints, events, hybrids (Python and SQL agree), mixins, types."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from admin_app.accounts.models import Address, Customer, Employee, User
from admin_app.catalog.models import Category, Product
from admin_app.content.models import Post, Tag
from admin_app.core.models import utcnow
from admin_app.extensions import db
from admin_app.sales.models import CartItem, Order, OrderItem
from tests import factories as f


def fails_to_commit(obj=None) -> None:
    if obj is not None:
        db.session.add(obj)
    with pytest.raises(IntegrityError):
        db.session.commit()
    db.session.rollback()


# --- constraints -------------------------------------------------------------------------


@pytest.mark.parametrize("price", [Decimal("0"), Decimal("-1.00")])
def test_product_price_must_be_positive(price):
    fails_to_commit(Product(name="Lamp", price=price, stock=1))
    assert db.session.scalar(select(Product)) is None


def test_product_stock_cannot_be_negative():
    fails_to_commit(Product(name="Lamp", price=Decimal("1.00"), stock=-1))


def test_order_item_quantity_must_be_positive():
    order, product = f.order(), f.product()
    order.items.append(OrderItem(product=product, quantity=0, price=Decimal("1.00")))
    fails_to_commit()
    assert db.session.scalars(select(OrderItem)).all() == []


def test_cart_item_quantity_must_be_positive_and_unique_per_product():
    user, product = f.customer(), f.product()
    fails_to_commit(CartItem(user=user, product=product, quantity=0))
    db.session.add(CartItem(user_id=user.id, product_id=product.id, quantity=2))
    db.session.commit()
    fails_to_commit(CartItem(user_id=user.id, product_id=product.id, quantity=1))


def test_shipping_fee_cannot_be_negative():
    user = f.customer()
    fails_to_commit(Order(user=user, address=f.address(user), shipping_fee=Decimal("-0.01")))


def test_order_status_must_be_known():
    """The database refuses an unknown status even from a statement the ORM's life cycle
    never sees (the ORM refuses it first: a new order starts pending)."""
    user = f.customer()
    ship_to = f.address(user)
    with pytest.raises(IntegrityError), db.engine.begin() as connection:
        connection.execute(Order.__table__.insert().values(user_id=user.id, address_id=ship_to.id, status="lost",
                                                           order_date=utcnow(), created_at=utcnow(),
                                                           updated_at=utcnow()))
    assert db.session.scalar(select(Order)) is None


def test_post_status_must_be_known():
    fails_to_commit(Post(title="x", content="y", status="secret", author=f.employee()))


def test_employee_role_must_be_known():
    fails_to_commit(Employee(username="x", email="x@shop.example", role="superuser"))


def test_username_unique_case_insensitively():
    f.customer(username="Alice", email="a1@example.com")
    fails_to_commit(Customer(username="alice", email="a2@example.com"))


def test_email_unique_case_insensitively_across_customers_and_employees():
    f.customer(username="a", email="Same@Example.com")
    fails_to_commit(Employee(username="b", email="same@example.COM", role="staff"))


def test_category_and_tag_names_unique_case_insensitively():
    f.category(name="Garden")
    fails_to_commit(Category(name="GARDEN"))
    f.tag(name="sale")
    fails_to_commit(Tag(name="Sale"))


def test_foreign_keys_are_indexed():
    for table in db.metadata.sorted_tables:
        indexed = {tuple(c.name for c in index.columns)[:1] for index in table.indexes}
        indexed |= {tuple(c.name for c in table.primary_key.columns)[:1]}
        for fk in table.foreign_keys:
            assert (fk.parent.name,) in indexed, f"{table.name}.{fk.parent.name} has no index"


# --- events ------------------------------------------------------------------------------


def test_email_lowercased_on_insert_and_on_set():
    user = f.customer(email="  Mixed.Case@Example.COM ")
    assert user.email == "mixed.case@example.com"
    user.email = "Other@EXAMPLE.com"
    db.session.commit()
    assert db.session.scalar(select(User.email).where(User.id == user.id)) == "other@example.com"


# --- hybrids -----------------------------------------------------------------------------


def test_full_name_python_and_sql_agree():
    both = f.customer(first_name="Ada", last_name="Lovelace")
    only_username = f.customer(username="nofirst", first_name=None, last_name="X")
    empty = f.customer(username="emptyfirst", first_name="", last_name="Y")
    for user, expected in ((both, "Ada Lovelace"), (only_username, "nofirst"), (empty, "emptyfirst")):
        assert user.full_name == expected
        assert db.session.scalar(select(User.full_name).where(User.id == user.id)) == expected
    assert db.session.scalar(select(Customer).where(Customer.full_name == "Ada Lovelace")) is both


def test_is_in_stock_python_and_sql_agree():
    full, empty = f.product(stock=3), f.product(stock=0)
    assert full.is_in_stock and not empty.is_in_stock
    assert db.session.scalars(select(Product).where(Product.is_in_stock)).all() == [full]
    assert db.session.scalars(select(Product).where(~Product.is_in_stock)).all() == [empty]


def test_order_subtotal_and_total_python_and_sql_agree():
    lamp, mug = f.product(price=Decimal("19.99")), f.product(price=Decimal("4.50"))
    order = f.order(items=[(lamp, 2, Decimal("19.99")), (mug, 3, Decimal("4.50"))], shipping_fee=Decimal("4.95"))
    empty = f.order(shipping_fee=Decimal("2.00"))
    assert order.items[0].subtotal == Decimal("39.98")
    assert order.subtotal == Decimal("53.48")
    assert order.total == Decimal("58.43")
    assert empty.subtotal == Decimal("0.00") and empty.total == Decimal("2.00")
    rows = dict(db.session.execute(select(Order.id, Order.total)).all())
    assert Decimal(rows[order.id]) == Decimal("58.43")
    assert Decimal(rows[empty.id]) == Decimal("2.00")
    assert db.session.scalar(select(Order.subtotal).where(Order.id == order.id)) == Decimal("53.48")
    by_total = db.session.scalars(select(Order).order_by(Order.total.desc())).all()
    assert by_total == [order, empty]
    assert db.session.scalars(select(Order).where(Order.total > 50)).all() == [order]
    item_subtotals = db.session.scalars(select(OrderItem.subtotal).order_by(OrderItem.id)).all()
    assert [Decimal(s) for s in item_subtotals] == [Decimal("39.98"), Decimal("13.50")]


def test_order_keeps_price_paid_when_product_price_changes():
    lamp = f.product(price=Decimal("10.00"))
    order = f.order(items=[(lamp, 1, Decimal("10.00"))])
    lamp.price = Decimal("12.00")
    db.session.commit()
    assert order.total == Decimal("10.00")


def test_cart_item_subtotal_python_and_sql_agree():
    item = CartItem(user=f.customer(), product=f.product(price=Decimal("2.50")), quantity=4)
    db.session.add(item)
    db.session.commit()
    assert item.subtotal == Decimal("10.00")
    assert Decimal(db.session.scalar(select(CartItem.subtotal))) == Decimal("10.00")


# --- mixins and types --------------------------------------------------------------------


def test_timestamps_are_utc_aware_and_updated_at_moves():
    product = f.product()
    db.session.expire_all()
    assert product.created_at.tzinfo is not None and product.created_at.utcoffset() == timedelta(0)
    first_update = product.updated_at
    product.price = Decimal("9.00")
    db.session.commit()
    db.session.expire_all()
    assert product.updated_at > first_update
    assert abs(product.created_at - utcnow()) < timedelta(minutes=1)


def test_timestamps_round_trip_other_offsets_as_the_same_instant():
    from zoneinfo import ZoneInfo

    berlin_noon = datetime(2026, 7, 1, 12, 0, tzinfo=ZoneInfo("Europe/Berlin"))
    order = f.order(order_date=berlin_noon)
    db.session.expire_all()
    assert order.order_date == berlin_noon
    assert order.order_date.tzinfo == UTC


def test_naive_datetimes_are_refused():
    user = f.customer()
    db.session.add(Order(user=user, address=f.address(user), order_date=datetime(2026, 1, 1)))
    with pytest.raises(Exception, match="naive datetime"):
        db.session.commit()
    db.session.rollback()


def test_soft_delete_and_restore():
    product = f.product()
    assert not product.is_deleted
    product.soft_delete()
    db.session.commit()
    assert product.is_deleted and product.deleted_at.tzinfo is not None
    # In the trash: left out of reads, unless a read asks for the trash.
    assert db.session.scalars(select(Product)).all() == []
    with_trash = select(Product).where(Product.is_deleted).execution_options(include_deleted=True)
    assert db.session.scalars(with_trash).all() == [product]
    product.restore()
    db.session.commit()
    assert db.session.scalars(select(Product).where(~Product.is_deleted)).all() == [product]


def test_preferences_default_is_not_shared_and_changes_in_place_are_saved():
    first, second = f.customer(), f.customer()
    assert first.preferences == {} and second.preferences == {}
    first.preferences["theme"] = "darkly"
    db.session.commit()
    db.session.expire_all()
    assert first.preferences == {"theme": "darkly"}
    assert second.preferences == {}


def test_single_table_inheritance_keeps_customers_and_employees_apart():
    customer, employee = f.customer(), f.employee()
    assert db.session.scalars(select(Customer)).all() == [customer]
    assert db.session.scalars(select(Employee)).all() == [employee]
    assert set(db.session.scalars(select(User)).all()) == {customer, employee}
    assert employee.type == "employee" and customer.type == "customer"


def test_passwords_are_hashed_and_checked():
    employee = f.employee()
    employee.set_password("a very long password")
    assert "a very long password" not in employee.password_hash
    assert employee.password_hash.startswith("scrypt:")
    assert employee.check_password("a very long password")
    assert not employee.check_password("wrong password!")
    assert not f.customer().check_password("")


# --- relationships and query helpers -----------------------------------------------------


def test_category_tree_and_product_helpers():
    root = f.category(name="Electronics")
    phones = f.category(name="Phones", parent=root)
    android = f.category(name="Android", parent=phones)
    assert phones.parent is root and root.children == [phones]
    assert android.path == "Electronics / Phones / Android"
    in_stock = f.product(category=android, stock=2)
    sold_out = f.product(category=android, stock=0)
    on_root = f.product(category=root, stock=1)
    gone = f.product(category=root, stock=1)
    gone.soft_delete()
    db.session.commit()
    assert set(db.session.scalars(select(Product).where(Product.is_in_stock))) == {in_stock, on_root}
    assert sold_out.is_in_stock is False


def test_category_cannot_be_its_own_parent():
    category = f.category()
    category.parent_id = category.id
    fails_to_commit()


def test_tutorial_attribute_names():
    customer = f.customer()
    home = f.address(customer)
    product = f.product(category=f.category())
    order = f.order(customer, items=[(product, 1, product.price)])
    db.session.add(CartItem(user=customer, product=product, quantity=1))
    author = f.employee()
    tag = f.tag()
    post = f.post(author, tags=[tag], category=product.category)
    comment = f.comment(post, user=customer)
    db.session.commit()
    assert customer.addresses == [home] and customer.orders == [order]
    assert customer.cart_items[0].product is product and home.user is customer
    assert order.items[0].product is product and order.items[0].order is order and order.user is customer
    assert product.category.products == [product] and product.order_items == order.items
    assert post.author is author and author.posts == [post] and post.tags == [tag] and tag.posts == [post]
    assert post.comments == [comment] and comment.post is post
    assert isinstance(db.session.get(Address, home.id), Address)


def test_stored_subtotal_matches_python_without_loading_items():
    lamp = f.product(price=Decimal("19.99"))
    order = f.order(items=[(lamp, 3, Decimal("19.99"))], shipping_fee=Decimal("1.00"))
    expected = (order.subtotal, order.total)
    db.session.expunge_all()
    loaded = db.session.scalars(select(Order)).one()
    assert "items" not in loaded.__dict__  # nothing was loaded per order
    assert (loaded.subtotal, loaded.total) == expected == (Decimal("59.97"), Decimal("60.97"))


def stored_subtotal(order) -> Decimal:
    return db.session.scalar(select(Order.items_subtotal).where(Order.id == order.id))


def test_stored_subtotal_follows_every_change_to_the_items():
    lamp, mug = f.product(price=Decimal("10.00")), f.product(price=Decimal("2.50"))
    order = f.order(items=[(lamp, 2, Decimal("10.00"))])
    assert stored_subtotal(order) == Decimal("20.00")
    order.items.append(OrderItem(product=mug, quantity=4, price=Decimal("2.50")))   # add
    db.session.commit()
    assert stored_subtotal(order) == Decimal("30.00")
    order.items[0].quantity = 3                                                      # change
    db.session.commit()
    assert stored_subtotal(order) == Decimal("40.00")
    order.items.remove(order.items[1])                                               # remove (orphan)
    db.session.commit()
    assert stored_subtotal(order) == Decimal("30.00")
    other = f.order()
    item = order.items[0]
    item.order = other                                                               # move
    db.session.commit()
    assert (stored_subtotal(order), stored_subtotal(other)) == (Decimal("0.00"), Decimal("30.00"))
    db.session.delete(item)                                                          # delete
    db.session.commit()
    assert stored_subtotal(other) == Decimal("0.00")


def test_stored_subtotal_matches_the_items_after_seeding():
    from sqlalchemy import func

    from admin_app.demo import DemoSizes, seed_demo

    seed_demo(DemoSizes(customers=10, products=10, orders=25, items_per_order=3, posts=1))
    sums = dict(db.session.execute(select(OrderItem.order_id, func.sum(OrderItem.price * OrderItem.quantity))
                                   .group_by(OrderItem.order_id)).all())
    stored = dict(db.session.execute(select(Order.id, Order.items_subtotal)).all())
    assert {k: Decimal(v).quantize(Decimal("0.01")) for k, v in sums.items()} == stored


def test_preferences_load_only_when_read_and_with_the_signed_in_employee():
    from sqlalchemy import inspect as sa_inspect
    from sqlalchemy.orm import joinedload

    from admin_app.accounts.auth.session import load_employee, record_id
    from admin_app.accounts.models import UserSession

    shopper = f.customer(preferences={"newsletter": True})
    staff = f.employee(role="staff", preferences={"page_size": 50}, is_active=True)
    db.session.add(UserSession(id=record_id("a-session-key"), user_id=staff.id))
    db.session.commit()
    order_id, session_id = f.order(shopper).id, "a-session-key"
    db.session.expunge_all()
    # An order list loads the customer of every order: not their preferences.
    listed = db.session.scalars(select(Order).where(Order.id == order_id).options(joinedload(Order.user))).one()
    assert "preferences" not in sa_inspect(listed.user).dict
    assert listed.user.preferences == {"newsletter": True}  # still there when read
    db.session.expunge_all()
    signed_in = load_employee(session_id)
    db.session.expunge(signed_in)  # detached: no lazy load possible, they came with the employee
    assert signed_in.preferences == {"page_size": 50}
