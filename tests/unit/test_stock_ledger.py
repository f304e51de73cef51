"""The stock ledger (issue 23) through plain ORM code, the services, the CLI and two sessions
racing: every path moves stock through movements, and stock always equals their sum."""

from __future__ import annotations

import threading
from decimal import Decimal
from typing import Any

import pytest
from flask_migrate import downgrade, upgrade
from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from admin_app.catalog.models import Product, StockMovement
from admin_app.catalog.stock import StockShortage, adjust_stock, stock_differences
from admin_app.core import trash
from admin_app.core.models import DataRuleError
from admin_app.demo import DemoSizes, seed_demo
from admin_app.extensions import db
from admin_app.sales.models import Order, OrderItem
from admin_app.sales.services import move_order_ids
from tests import factories as f
from tests.conftest import make_app, meanwhile
from tests.unit.test_migrations import empty_database_url  # noqa: F401  (a fixture)

ONE = Decimal("1.00")


def stock_of(product_id: int) -> int:
    return db.session.scalar(select(Product.stock).where(Product.id == product_id).execution_options(
        include_deleted=True))


def movements(product_id: int) -> list[tuple[int, str, int | None, str | None]]:
    """(quantity, reason, order id, order number) of a product's movements, oldest first."""
    rows = db.session.execute(select(StockMovement.quantity, StockMovement.reason, StockMovement.order_id,
                                     StockMovement.order_number)
                              .where(StockMovement.product_id == product_id).order_by(StockMovement.id))
    return [tuple(row) for row in rows]


@pytest.fixture(autouse=True)
def ledger_holds():
    """After every scenario, every product's stock is the sum of its movements."""
    yield
    db.session.rollback()
    assert stock_differences() == []


# --- the ledger itself ----------------------------------------------------------------------


def test_a_new_products_stock_is_its_opening_balance():
    lamp = f.product(stock=4)
    empty = f.product(stock=0)
    assert movements(lamp.id) == [(4, "opening_balance", None, None)]
    assert movements(empty.id) == []


def test_a_stored_products_stock_cannot_be_assigned():
    lamp = f.product(stock=4)
    with pytest.raises(DataRuleError, match="Stock changes only through stock movements"):
        lamp.stock = 9
    db.session.rollback()
    assert stock_of(lamp.id) == 4


def test_adjust_stock_records_a_movement_and_a_history_entry():
    lamp = f.product(name="Lamp", stock=4)
    assert adjust_stock(lamp, 6, "received", " delivery 17 ") == 10
    db.session.commit()
    assert lamp.stock == 10 and movements(lamp.id)[-1] == (6, "received", None, None)
    (entry,) = f.audit_entries(lamp, "stock")
    assert entry.changes == {"stock": [4, 10], "reason": "received", "note": "delivery 17"}


def test_adjust_stock_refuses_taking_more_than_is_there_and_writes_nothing():
    lamp = f.product(name="Lamp", sku="L-1", stock=2)
    with pytest.raises(StockShortage, match=r"Stock of Lamp \(L-1\) cannot go below 0: only 2 left, 3 taken out"):
        adjust_stock(lamp, -3, "correction")
    db.session.rollback()
    assert stock_of(lamp.id) == 2 and len(movements(lamp.id)) == 1


@pytest.mark.parametrize("quantity, reason", [(0, "received"), (5, "order_placed"), (5, "theft"),
                                              (2**40, "received")])
def test_adjust_stock_refuses_what_is_no_movement(quantity, reason):
    lamp = f.product(stock=2)
    with pytest.raises(DataRuleError):
        adjust_stock(lamp, quantity, reason)
    db.session.rollback()
    assert movements(lamp.id) == [(2, "opening_balance", None, None)]


def test_movements_cannot_be_added_changed_or_removed_through_the_orm():
    lamp = f.product(stock=2)
    db.session.add(StockMovement(product=lamp, quantity=5, balance=7, reason="received", actor_label="x"))
    with pytest.raises(DataRuleError, match="written by the stock ledger only"):
        db.session.flush()
    db.session.rollback()
    movement = db.session.scalars(select(StockMovement)).one()
    movement.quantity = 50
    with pytest.raises(DataRuleError):
        db.session.flush()
    db.session.rollback()
    db.session.delete(db.session.scalars(select(StockMovement)).one())
    with pytest.raises(DataRuleError):
        db.session.flush()
    db.session.rollback()
    assert movements(lamp.id) == [(2, "opening_balance", None, None)]


def test_check_stock_finds_a_raw_sql_change_and_the_command_exits_1(runner):
    lamp = f.product(name="Lamp", stock=3)
    assert runner.invoke(args=["check-stock"]).exit_code == 0
    db.session.execute(text("UPDATE products SET stock = stock + 2 WHERE id = :id"), {"id": lamp.id})
    db.session.commit()
    result = runner.invoke(args=["check-stock"])
    assert result.exit_code == 1
    assert f"#{lamp.id} Lamp: stock 5, movements add up to 3 (+2)" in result.output
    db.session.execute(text("UPDATE products SET stock = stock - 2 WHERE id = :id"), {"id": lamp.id})
    db.session.commit()


def test_the_adjust_stock_command(runner):
    lamp = f.product(name="Lamp", stock=3)
    result = runner.invoke(args=["adjust-stock", str(lamp.id), "--quantity", "-2", "--reason", "correction",
                                 "--note", "broken"])
    assert result.exit_code == 0, result.output
    assert f"#{lamp.id} Lamp: stock now 1." in result.output
    refused = runner.invoke(args=["adjust-stock", str(lamp.id), "--quantity", "-2", "--reason", "correction"])
    assert refused.exit_code == 1 and "only 1 left" in refused.output
    assert stock_of(lamp.id) == 1
    (_, taken) = db.session.execute(select(StockMovement.actor_label, StockMovement.quantity)
                                    .order_by(StockMovement.id)).all()
    assert tuple(taken) == ("cli", -2)


def test_the_demo_writes_its_stock_through_the_ledger():
    # Many orders of few products: cancelled ones among them, sold and given back.
    seed_demo(DemoSizes(customers=10, products=8, orders=300, items_per_order=3, posts=1))
    assert db.session.scalar(select(func.count()).select_from(StockMovement)
                             .where(StockMovement.reason == "order_cancelled")) > 0
    assert stock_differences() == []
    placed = db.session.scalar(select(func.count()).select_from(StockMovement)
                               .where(StockMovement.reason == "order_placed"))
    assert placed == db.session.scalar(select(func.count()).select_from(OrderItem))
    assert db.session.scalar(select(func.min(StockMovement.balance))) >= 0


# --- orders take and return stock, on every path ------------------------------------------


def test_an_order_takes_its_units_and_a_cancellation_returns_them():
    lamp, desk = f.product(stock=5), f.product(stock=2)
    order = f.order(items=[(lamp, 2, ONE), (desk, 1, ONE), (lamp, 1, ONE)])
    assert (stock_of(lamp.id), stock_of(desk.id)) == (2, 1)
    # One movement per product and order, whatever the number of lines.
    assert movements(lamp.id)[1:] == [(-3, "order_placed", order.id, str(order.id))]
    order.status = "cancelled"
    db.session.commit()
    assert (stock_of(lamp.id), stock_of(desk.id)) == (5, 2)
    assert movements(desk.id)[-1] == (1, "order_cancelled", order.id, str(order.id))


def test_changing_items_moves_the_difference():
    lamp, desk = f.product(stock=5), f.product(stock=5)
    order = f.order(items=[(lamp, 2, ONE)])
    order.items[0].quantity = 4  # raise: 2 more taken
    db.session.commit()
    assert stock_of(lamp.id) == 1
    order.items[0].product = desk  # another product: the lamp's 4 back, the desk's 4 taken
    db.session.commit()
    assert (stock_of(lamp.id), stock_of(desk.id)) == (5, 1)
    order.items.append(OrderItem(product=lamp, quantity=1, price=ONE))
    db.session.commit()
    order.items.remove(order.items[0])  # removed: back to stock
    db.session.commit()
    assert (stock_of(lamp.id), stock_of(desk.id)) == (4, 5)
    assert [reason for _q, reason, _o, _n in movements(desk.id)] == ["opening_balance", "order_changed",
                                                                     "order_changed"]


def test_a_raise_beyond_the_stock_is_refused_and_nothing_is_saved():
    lamp = f.product(name="Lamp", stock=3)
    order = f.order(items=[(lamp, 2, ONE)])
    order.items[0].quantity = 5
    order.notes = "more lamps"
    with pytest.raises(StockShortage, match=rf"Order #{order.id} needs 3 more of Lamp .*only 1 left in stock"):
        db.session.commit()
    db.session.rollback()
    stored = db.session.get(Order, order.id)
    assert (stored.items[0].quantity, stored.notes, stock_of(lamp.id)) == (2, None, 1)


def test_the_trash_returns_units_and_restoring_takes_them_again_or_is_refused():
    lamp = f.product(name="Lamp", stock=3)
    order = f.order(items=[(lamp, 2, ONE)])
    order.soft_delete()
    db.session.commit()
    assert stock_of(lamp.id) == 3
    adjust_stock(lamp, -2, "correction")  # meanwhile, two are found broken
    db.session.commit()
    order_id, lamp_id = order.id, lamp.id
    db.session.expunge_all()
    (deleted,) = trash.load_with_trash(Order, [order_id])
    with pytest.raises(StockShortage, match="needs 2 more of Lamp"):
        trash.restore([deleted])
        db.session.commit()
    db.session.rollback()
    db.session.expunge_all()
    assert db.session.get(Order, order_id) is None  # still in the trash
    lamp = db.session.get(Product, lamp_id)
    adjust_stock(lamp, 5, "received")
    db.session.commit()
    (deleted,) = trash.load_with_trash(Order, [order_id])
    trash.restore([deleted])
    db.session.commit()
    assert stock_of(lamp_id) == 4
    assert [reason for _q, reason, _o, _n in movements(lamp_id)][-2:] == ["received", "order_restored"]


def test_purging_an_order_keeps_its_movements_with_its_number():
    lamp = f.product(stock=3)
    order = f.order(items=[(lamp, 2, ONE)])
    order_id, lamp_id = order.id, lamp.id
    order.soft_delete()
    db.session.commit()
    db.session.expunge_all()
    trash.purge(trash.load_with_trash(Order, [order_id]))
    db.session.commit()
    assert movements(lamp_id)[1:] == [(-2, "order_placed", None, str(order_id)),
                                      (2, "order_deleted", None, str(order_id))]
    assert stock_of(lamp_id) == 3


def test_deleting_a_live_pending_order_in_code_returns_its_units():
    lamp = f.product(stock=3)
    order = f.order(items=[(lamp, 2, ONE)])
    db.session.delete(order)
    db.session.commit()
    assert stock_of(lamp.id) == 3 and movements(lamp.id)[-1][:2] == (2, "order_deleted")


def test_a_bulk_cancellation_returns_the_units_of_every_order():
    lamp = f.product(stock=10)
    orders = [f.order(items=[(lamp, 2, ONE)]), f.order(items=[(lamp, 3, ONE)], status="paid"),
              f.order(items=[(lamp, 1, ONE)], status="shipped")]
    assert stock_of(lamp.id) == 4
    report = move_order_ids([o.id for o in orders], "cancelled")
    db.session.commit()
    assert len(report.moved) == 2 and stock_of(lamp.id) == 9


def test_an_item_moved_to_another_order_moves_no_stock():
    lamp = f.product(stock=5)
    first, second = f.order(items=[(lamp, 2, ONE)]), f.order(items=[(lamp, 1, ONE)])
    item = first.items[0]
    item.order_id = second.id
    db.session.commit()
    assert stock_of(lamp.id) == 2
    # Each order's own movement says what it gave and took (units coming back first).
    assert movements(lamp.id)[-2:] == [(2, "order_changed", first.id, str(first.id)),
                                       (-2, "order_changed", second.id, str(second.id))]


# --- two sessions racing for the last unit -------------------------------------------------


def test_the_session_that_read_the_last_unit_first_but_writes_second_is_refused():
    """The app's session sees 1 left; another session sells it first: the conditional update
    matches no row, the order is not saved, the winner's sale is the one movement."""
    lamp = f.product(name="Lamp", stock=1)
    buyer = f.customer()
    ship_to = f.address(buyer)
    assert lamp.stock == 1

    def sell_it_first(other: Session) -> None:
        rival = Order(user_id=buyer.id, address_id=ship_to.id)
        rival.items.append(OrderItem(product_id=lamp.id, quantity=1, price=ONE))
        other.add(rival)

    loser = Order(user=buyer, address=ship_to)
    loser.items.append(OrderItem(product=lamp, quantity=1, price=ONE))
    db.session.add(loser)
    with meanwhile(sell_it_first), pytest.raises(StockShortage, match="only 0 left"):
        db.session.commit()
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Order)) == 1
    assert [m[:2] for m in movements(lamp.id)] == [(1, "opening_balance"), (-1, "order_placed")]
    assert stock_of(lamp.id) == 0


def test_two_connections_racing_for_the_last_unit_exactly_one_wins(app):
    """Two threads, each with its own connection, sell the last unit at the same moment."""
    lamp = f.product(name="Lamp", stock=1)
    buyers = [f.address(f.customer()) for _ in range(2)]
    ids = [(address.user_id, address.id) for address in buyers]
    start = threading.Barrier(2)
    outcomes: list[Any] = []

    def sell(user_id: int, address_id: int) -> None:
        with app.app_context(), Session(db.engine) as session:
            order = Order(user_id=user_id, address_id=address_id)
            order.items.append(OrderItem(product_id=lamp.id, quantity=1, price=ONE))
            session.add(order)
            start.wait()
            try:
                session.commit()
                outcomes.append(order.id)
            except StockShortage as refused:
                session.rollback()
                outcomes.append(refused)

    threads = [threading.Thread(target=sell, args=pair) for pair in ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    won = [o for o in outcomes if isinstance(o, int)]
    lost = [o for o in outcomes if isinstance(o, StockShortage)]
    assert (len(won), len(lost)) == (1, 1), outcomes
    assert "only 0 left" in lost[0].message
    assert db.session.scalars(select(Order.id)).all() == won
    assert [m[:3] for m in movements(lamp.id)] == [(1, "opening_balance", None), (-1, "order_placed", won[0])]
    assert stock_of(lamp.id) == 0


# --- the migration ------------------------------------------------------------------------


def test_the_migration_opens_a_balance_per_existing_product(empty_database_url):  # noqa: F811
    migrated = make_app(empty_database_url)
    with migrated.app_context():
        directory = migrated.extensions["migrate"].directory
        upgrade(directory=directory, revision="0013")
        with db.engine.begin() as connection:
            for name, stock in (("Lamp", 7), ("Sold out", 0)):
                connection.execute(text(
                    "INSERT INTO products (name, price, stock, created_at, updated_at, version_id) "
                    "VALUES (:name, 10, :stock, CURRENT_TIMESTAMP, CURRENT_TIMESTAMP, 1)"),
                    {"name": name, "stock": stock})
        upgrade(directory=directory)
        with db.engine.connect() as connection:
            rows = connection.execute(text(
                "SELECT p.name, m.quantity, m.balance, m.reason FROM stock_movements m "
                "JOIN products p ON p.id = m.product_id")).all()
        assert [tuple(r) for r in rows] == [("Lamp", 7, 7, "opening_balance")]
        assert stock_differences(db.session) == []
        db.session.remove()
        downgrade(directory=directory, revision="0013")
        with db.engine.connect() as connection:
            assert connection.scalar(text("SELECT stock FROM products WHERE name = 'Lamp'")) == 7
        db.engine.dispose()
