"""The CLI: create-user, seed-demo and the demo preparation, through functions and commands."""

from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import func, select, text

from admin_app.accounts.models import Customer, Employee
from admin_app.accounts.services import UserError, create_employee
from admin_app.catalog.models import Category, Product
from admin_app.commands import ensure_demo_admin, prepare_demo
from admin_app.content.models import Post
from admin_app.demo import DatabaseNotEmpty, DemoSizes, seed_demo
from admin_app.extensions import db
from admin_app.sales.models import Order, OrderItem
from tests.conftest import make_app

GOOD_PASSWORD = "long enough password"


def count(model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_create_user_with_password_from_stdin(runner):
    result = runner.invoke(args=["create-user", "Maria", "--email", "Maria@Shop.example", "--role", "staff",
                                 "--password-stdin"], input=GOOD_PASSWORD + "\n")
    assert result.exit_code == 0, result.output
    employee = db.session.scalar(select(Employee))
    assert (employee.username, employee.email, employee.role, employee.is_active) == (
        "Maria", "maria@shop.example", "staff", True)
    assert employee.check_password(GOOD_PASSWORD)
    assert GOOD_PASSWORD not in result.output


def test_create_user_prompts_twice_for_the_password(runner):
    result = runner.invoke(args=["create-user", "pat", "--email", "pat@shop.example"],
                           input=f"{GOOD_PASSWORD}\n{GOOD_PASSWORD}\n")
    assert result.exit_code == 0, result.output
    assert result.output.count("Password") >= 1 and "Repeat for confirmation" in result.output
    assert db.session.scalar(select(Employee)).role == "viewer"


@pytest.mark.parametrize(
    ("args", "password", "message"),
    [
        (["--role", "owner"], GOOD_PASSWORD, "Invalid value for '--role'"),
        ([], "short", "at least 15 characters"),
            ([], "aaaaaaaaaaaaaaaaaaaa", "too easy to guess"),
    ],
)
def test_create_user_refuses_bad_input(runner, args, password, message):
    result = runner.invoke(args=["create-user", "x", "--email", "x@shop.example", "--password-stdin", *args],
                           input=password + "\n")
    assert result.exit_code != 0
    assert message in result.output
    assert count(Employee) == 0


def test_create_user_refuses_duplicates_case_insensitively(runner):
    create_employee("Sam", "sam@shop.example", GOOD_PASSWORD, "staff")
    for username, email, field in (("SAM", "new@shop.example", "username"), ("new", "SAM@shop.example", "email")):
        result = runner.invoke(args=["create-user", username, "--email", email, "--password-stdin"],
                               input=GOOD_PASSWORD + "\n")
        assert result.exit_code == 1
        assert f"A user with this {field} already exists." in result.output
    assert count(Employee) == 1


def test_create_employee_function_validates():
    with pytest.raises(UserError, match="Unknown role"):
        create_employee("a", "a@shop.example", GOOD_PASSWORD, "root")
    with pytest.raises(UserError, match="not a valid email"):
        create_employee("a", "not-an-email", GOOD_PASSWORD, "staff")
    with pytest.raises(UserError, match="required"):
        create_employee("  ", "a@shop.example", GOOD_PASSWORD, "staff")


def test_seed_demo_fills_every_table_with_hostile_samples(runner):
    result = runner.invoke(args=["seed-demo", "--customers", "30", "--products", "20", "--orders", "40",
                                 "--items-per-order", "2", "--posts", "10"])
    assert result.exit_code == 0, result.output
    assert "40 orders" in result.output
    assert (count(Customer), count(Product), count(Order)) == (30, 20, 40)
    assert count(OrderItem) >= 40 and count(Category) > 5 and count(Post) == 10
    names = db.session.scalars(select(Product.name)).all()
    assert {name[0] for name in names} >= {"=", "+", "-", "@"}
    assert db.session.scalar(select(func.count()).where(Product.description.contains("<script>"))) >= 1
    # Every order ships to one of its own customer's addresses, and prices fit the schema.
    for order in db.session.scalars(select(Order)):
        assert order.address.user_id == order.user_id
        assert order.total > Decimal("0") and order.order_date.tzinfo is not None


def test_seed_demo_is_deterministic_and_refuses_a_full_database():
    sizes = DemoSizes(customers=15, products=10, orders=20, items_per_order=2, posts=3)
    seed_demo(sizes, seed=7)
    first = db.session.execute(select(Order.user_id, Order.status, Order.shipping_fee).order_by(Order.id)).all()
    items = db.session.execute(select(OrderItem.product_id, OrderItem.quantity).order_by(OrderItem.id)).all()
    with pytest.raises(DatabaseNotEmpty):
        seed_demo(sizes, seed=7)
    from tests.conftest import empty_tables

    empty_tables()
    seed_demo(sizes, seed=7)
    assert db.session.execute(select(Order.user_id, Order.status, Order.shipping_fee).order_by(Order.id)).all() == first
    assert db.session.execute(select(OrderItem.product_id, OrderItem.quantity).order_by(OrderItem.id)).all() == items
    # New rows after seeding get fresh ids (PostgreSQL's sequences were moved on).
    db.session.add(Product(name="After seeding", price=Decimal("1.00"), stock=1))
    db.session.commit()


def test_seed_demo_command_refuses_a_full_database(runner):
    seed_demo(DemoSizes(customers=2, products=2, orders=1, items_per_order=1, posts=1))
    result = runner.invoke(args=["seed-demo"])
    assert result.exit_code == 1 and "already holds data" in result.output


def test_ensure_demo_admin_creates_then_resets_the_password():
    first = ensure_demo_admin()
    admin = db.session.scalar(select(Employee).where(Employee.username == "admin"))
    assert admin.role == "admin" and admin.check_password(first)
    second = ensure_demo_admin()
    db.session.refresh(admin)
    assert second != first and admin.check_password(second) and count(Employee) == 1


def test_prepare_demo_migrates_a_fresh_sqlite_database_and_loads_data(tmp_path):
    app = make_app(f"sqlite:///{tmp_path / 'demo.db'}")
    with app.app_context():
        password = prepare_demo()
        assert count(Order) > 0 and count(Customer) > 0
        admin = db.session.scalar(select(Employee).where(Employee.username == "admin"))
        assert admin.check_password(password)
        orders = count(Order)
        prepare_demo()  # a second start keeps the data and only renews the password
        assert count(Order) == orders
        db.session.remove()
        db.engine.dispose()


def test_demo_command_serves_the_app(monkeypatch, tmp_path):
    """``manage.py demo`` really serves (Flask ignores app.run() inside its own CLI)."""
    import admin_app.commands as commands

    served = {}
    monkeypatch.setattr(commands, "run_simple", lambda host, port, app, **kw: served.update(host=host, port=port,
                                                                                          app=app))
    app = make_app(f"sqlite:///{tmp_path / 'demo.db'}")
    with app.app_context():
        result = app.test_cli_runner().invoke(commands.demo_command, ["--port", "5055"])
        db.session.remove()
        db.engine.dispose()
    assert result.exit_code == 0, result.output
    assert "Log in as 'admin' with password" in result.output
    assert served == {"host": "127.0.0.1", "port": 5055, "app": app}


def test_seed_demo_leaves_the_tables_ready_for_fast_lists():
    """Planner statistics exist and, on PostgreSQL, every page of the seeded tables is
    marked all-visible, so index-only scans (deep list pages) never read the table."""
    seed_demo(DemoSizes(customers=20, products=10, orders=60, items_per_order=3, posts=2))
    if db.engine.dialect.name == "postgresql":
        pages = db.session.execute(text(
            "SELECT relname, relpages, relallvisible FROM pg_class "
            "WHERE relname IN ('orders', 'order_items', 'users') ORDER BY relname")).all()
        assert [(name, visible) for name, _pages, visible in pages] == [
            (name, total) for name, total, _visible in pages]
        assert all(total > 0 for _name, total, _visible in pages)
    else:
        analysed = db.session.scalars(text(
            "SELECT DISTINCT tbl FROM sqlite_stat1 WHERE tbl IN ('orders', 'order_items', 'users') ORDER BY tbl")).all()
        assert analysed == ["order_items", "orders", "users"]
