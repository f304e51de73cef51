"""The trash rule on plain ORM code (models.soft_delete): what it hides, what it never hides,
its one opt-out, the predicate it writes (so the live-row partial indexes still serve), and
that a record in the trash does not change."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import event, func, select
from sqlalchemy.orm import Session, joinedload, selectinload

from admin_app.accounts.models import Customer
from admin_app.catalog.models import Category, Product
from admin_app.content.models import Comment, Post
from admin_app.core.export import build_statement, iter_rows
from admin_app.core.export_specs import EXPORTS
from admin_app.core.soft_delete import RecordInTrash
from admin_app.dashboard.services import top_products
from admin_app.extensions import db
from admin_app.sales.models import Order, OrderItem
from tests import factories as f

WITH_TRASH = {"include_deleted": True}


@pytest.fixture
def shop() -> dict[str, Any]:
    """A live order and one in the trash (of a customer in the trash), two products, one deleted."""
    lamp, retired = f.product(name="Lamp"), f.product(name="Retired")
    gone = f.customer(username="gone")
    live = f.order(f.customer(username="here"), items=[(lamp, 1, Decimal("5.00"))])
    trashed = f.order(gone, items=[(lamp, 2, Decimal("5.00")), (retired, 1, Decimal("1.00"))])
    kept_item = f.order(gone, items=[(retired, 3, Decimal("1.00"))])
    trashed_items = [i.id for i in trashed.items]  # read now: once the order is deleted, they are hidden
    for record in (trashed, gone, retired):
        record.soft_delete()
    db.session.commit()
    ids = {"lamp": lamp.id, "retired": retired.id, "gone": gone.id, "live": live.id, "trashed": trashed.id,
           "kept": kept_item.id, "trashed_items": trashed_items, "live_item": live.items[0].id}
    db.session.remove()  # a new session: nothing in its identity map
    return ids


@contextmanager
def statements(raw: list[tuple[str, Any]] | None = None) -> Iterator[list[str]]:
    """The SQL sent to the database (whitespace folded); ``raw`` also gets it as sent, with its parameters."""
    seen: list[str] = []

    def record(conn: Any, cursor: Any, statement: str, parameters: Any, context: Any, executemany: bool) -> None:
        seen.append(" ".join(statement.split()))
        if raw is not None:
            raw.append((statement, parameters))

    event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(db.engine, "before_cursor_execute", record)


def test_selects_leave_the_trash_out(shop):
    assert db.session.scalars(select(Order.id).order_by(Order.id)).all() == [shop["live"], shop["kept"]]
    assert sorted(o.id for o in db.session.scalars(select(Order))) == [shop["live"], shop["kept"]]
    assert [p.name for p in db.session.scalars(select(Product))] == ["Lamp"]
    assert db.session.scalars(select(Customer.username)).all() == ["here"]
    assert db.session.get(Order, shop["trashed"]) is None
    assert db.session.query(Order).count() == 2  # legacy Query, counts included
    inner = select(Order.id).subquery()
    assert db.session.scalar(select(func.count()).select_from(inner)) == 2  # subqueries too
    assert [p.name for p in db.session.scalars(select(Product).where(Product.is_in_stock))] == ["Lamp"]


def test_orm_enabled_column_selects_are_covered(shop):
    """What the export engine's rows come from: ``select(Order.id, Order.total)`` through the Session."""
    rows = db.session.execute(select(Order.id, Order.total).order_by(Order.id)).all()
    assert [row.id for row in rows] == [shop["live"], shop["kept"]]
    items = db.session.execute(select(OrderItem.id, OrderItem.subtotal)).all()
    assert shop["live_item"] in {row.id for row in items}
    assert not {row.id for row in items} & set(shop["trashed_items"])


def test_an_orders_items_are_in_the_trash_with_it_and_come_back_with_it(shop):
    visible = set(db.session.scalars(select(OrderItem.id)))
    assert not visible & set(shop["trashed_items"])
    assert db.session.scalar(select(func.count(OrderItem.id))) == 2
    lamp = db.session.get(Product, shop["lamp"])
    assert [i.order_id for i in lamp.order_items] == [shop["live"]]  # a collection
    # The dashboard: a deleted order's items do not count, a deleted product is not ranked.
    assert [(p.name, units) for p, units, _revenue in top_products()] == [("Lamp", 1)]
    order = db.session.get(Order, shop["trashed"], execution_options=WITH_TRASH)
    order.restore()
    db.session.commit()
    db.session.remove()
    assert set(shop["trashed_items"]) <= set(db.session.scalars(select(OrderItem.id)))


def test_references_always_load_deleted_or_not(shop):
    kept = db.session.get(Order, shop["kept"])
    assert kept.user.username == "gone" and kept.user.is_deleted  # lazy many-to-one
    assert kept.items[0].product.name == "Retired"
    db.session.remove()
    joined = db.session.scalars(select(Order).where(Order.id == shop["kept"]).options(joinedload(Order.user))).one()
    assert joined.user.username == "gone"  # joined eager load


def test_collections_leave_the_trash_out(shop):
    parent = f.category(name="Parent")
    f.category(name="Kept child", parent=parent)
    f.category(name="Deleted child", parent=parent).soft_delete()
    db.session.commit()
    parent_id = parent.id
    db.session.remove()
    assert [c.name for c in db.session.get(Category, parent_id).children] == ["Kept child"]
    db.session.remove()
    loaded = db.session.scalars(select(Category).where(Category.id == parent_id)
                                .options(selectinload(Category.children))).one()
    assert [c.name for c in loaded.children] == ["Kept child"]
    here = db.session.scalars(select(Customer).where(Customer.username == "here")).one()
    assert [o.id for o in here.orders] == [shop["live"]]


def test_the_one_opt_out_sees_the_trash_and_so_do_the_collections_of_what_it_read(shop):
    everything = db.session.scalars(select(Order.id).order_by(Order.id).execution_options(**WITH_TRASH)).all()
    assert everything == sorted([shop["live"], shop["trashed"], shop["kept"]])
    gone = db.session.get(Customer, shop["gone"], execution_options=WITH_TRASH)
    assert sorted(o.id for o in gone.orders) == sorted([shop["trashed"], shop["kept"]])
    trashed = db.session.get(Order, shop["trashed"], execution_options=WITH_TRASH)
    assert [i.id for i in trashed.items] == shop["trashed_items"]


def test_rows_already_in_the_identity_map_are_not_read_again(shop):
    """The documented limit: ``session.get`` answers from the identity map without SQL. A
    new session (every request has one) reads under the rule again."""
    order = db.session.get(Order, shop["live"])
    order.soft_delete()
    db.session.commit()
    assert db.session.get(Order, shop["live"]) is order  # the same session: from its identity map
    assert db.session.scalars(select(Order.id).where(Order.id == shop["live"])).all() == []  # a query: no
    with Session(db.engine) as other:
        assert other.get(Order, shop["live"]) is None


def test_the_rule_writes_the_partial_indexes_predicate(shop):
    with statements() as seen:
        db.session.scalars(select(Order.id).order_by(Order.order_date.desc(), Order.id.desc()).limit(20)).all()
    assert "WHERE orders.deleted_at IS NULL ORDER BY" in seen[0]
    with statements() as seen:
        db.session.scalars(select(OrderItem.id).limit(20)).all()
    whole_is_live = ("NOT (EXISTS (SELECT * FROM orders WHERE orders.id = order_items.order_id "
                     "AND orders.deleted_at IS NOT NULL))")
    assert whole_is_live in seen[0]


def test_the_live_order_list_reads_its_partial_index(shop):
    """The statement the rule writes (not a hand-written one) is answered from the partial
    index ``ix_orders_live_order_date``: the planner only uses it when the WHERE clause
    implies ``deleted_at IS NULL``."""
    statement = select(Order.id).order_by(Order.order_date.desc(), Order.id.desc()).limit(20).offset(40)
    sent: list[tuple[str, Any]] = []
    with statements(sent):
        db.session.scalars(statement).all()
    sql, parameters = sent[0]
    connection = db.session.connection()
    if db.engine.dialect.name == "sqlite":
        plan = connection.exec_driver_sql("EXPLAIN QUERY PLAN " + sql, parameters).all()
        assert [step[-1] for step in plan] == ["SCAN orders USING COVERING INDEX ix_orders_live_order_date"]
    else:
        # A handful of rows: without this the planner rightly reads the table itself.
        connection.exec_driver_sql("SET LOCAL enable_seqscan = off")
        connection.exec_driver_sql("SET LOCAL enable_bitmapscan = off")
        plan = "\n".join(row[0] for row in connection.exec_driver_sql("EXPLAIN " + sql, parameters))
        assert "Index Only Scan Backward using ix_orders_live_order_date" in plan, plan
    db.session.rollback()


def test_the_export_reads_without_the_trash(shop):
    """The CLI's and the views' export reads through the session: the rule applies to it."""
    spec = EXPORTS["orderitem"]
    ids = {row[0] for row in iter_rows(build_statement(spec))}
    assert shop["live_item"] in ids and not ids & set(shop["trashed_items"])
    orders = EXPORTS["order"]
    assert {row[0] for row in iter_rows(build_statement(orders))} == {shop["live"], shop["kept"]}


# --- a record in the trash does not change --------------------------------------------------


def test_a_record_in_the_trash_cannot_change(shop):
    order = db.session.get(Order, shop["trashed"], execution_options=WITH_TRASH)
    order.status = "paid"
    with pytest.raises(RecordInTrash, match="in the trash: restore it"):
        db.session.commit()
    db.session.rollback()
    assert db.session.get(Order, shop["trashed"], execution_options=WITH_TRASH).status == "pending"


def test_nor_its_parts(shop):
    order = db.session.get(Order, shop["trashed"], execution_options=WITH_TRASH)
    order.items[0].quantity = 7
    with pytest.raises(RecordInTrash):
        db.session.flush()
    db.session.rollback()
    order = db.session.get(Order, shop["trashed"], execution_options=WITH_TRASH)
    order.items.append(OrderItem(product=db.session.get(Product, shop["lamp"]), quantity=1, price=Decimal("1")))
    with pytest.raises(RecordInTrash):
        db.session.flush()
    db.session.rollback()


def test_restoring_and_changing_at_once_is_a_change_out_of_the_trash(shop):
    order = db.session.get(Order, shop["trashed"], execution_options=WITH_TRASH)
    order.restore()
    order.status = "paid"
    db.session.commit()
    assert db.session.get(Order, shop["trashed"]).status == "paid"


def test_putting_in_the_trash_with_a_last_change_is_allowed(shop):
    post = f.post()
    comment = f.comment(post)
    comment.is_approved = True
    comment.soft_delete()
    db.session.commit()
    stored = db.session.get(Comment, comment.id, execution_options=WITH_TRASH)
    assert stored.is_approved and stored.is_deleted
    assert db.session.get(Post, post.id).comments == []


def test_the_dashboards_best_sellers_are_ranked_among_live_products():
    best, second = f.product(name="Best, deleted"), f.product(name="Second")
    f.order(items=[(best, 10, Decimal("9.00")), (second, 1, Decimal("1.00"))])
    best.soft_delete()
    db.session.commit()
    assert [(p.name, units) for p, units, _revenue in top_products(limit=1)] == [("Second", 1)]
