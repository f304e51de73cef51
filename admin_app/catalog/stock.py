"""The stock ledger: every change to a product's stock is a movement, and the stock is their sum.

- :class:`StockMovement` rows are the ledger: product, signed quantity, reason, the order
  (and its number, kept as text when the order is purged), who, when, a note, and the stock
  it left (``balance``).
- :func:`apply_movements` is the one writer of ``products.stock``: for each movement a
  conditional ``UPDATE products SET stock = stock + :q WHERE id = :id AND stock + :q >= 0``
  (never read-then-write in Python, so two sessions selling the last unit cannot both
  succeed: the database serialises the two updates and the second matches no row), then the
  movement row and a history entry of the product, on the session's connection, in its
  transaction. A shortage raises :class:`StockShortage` (a :class:`DataRuleError`).
- A new product's stock (``Product(stock=5)``, the create form's opening stock) is written
  with it and recorded as its opening balance; assigning ``stock`` to a stored product raises
  (:func:`_stock_only_through_movements`): use :func:`adjust_stock`.
- :func:`stock_differences` compares every product's stock with the sum of its movements
  (``manage.py check-stock``).

Orders take and return stock through :func:`apply_movements` too: the rule lives beside the
order life cycle, in :mod:`admin_app.sales.stock`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import event, func, insert, inspect, select, update
from sqlalchemy.orm import Session, object_session
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.orm.util import identity_key

from admin_app.audit.models import AuditLog
from admin_app.audit.services import Actor, current_actor
from admin_app.catalog.models import MANUAL_REASONS, Product, StockMovement
from admin_app.core.models import MAX_INTEGER, DataRuleError, utcnow
from admin_app.extensions import db


@dataclass(frozen=True)
class Movement:
    """A movement to apply: ``quantity`` units into stock (negative: out of it)."""

    product_id: int
    quantity: int
    reason: str
    order_id: int | None = None
    order_number: str | None = None
    note: str | None = None
    # Where the shortage message goes on a form: the order form's item lines, or a field.
    field: str = "quantity"
    # The order the units are for, as the shortage message names it.
    order_label: str | None = None


class StockShortage(DataRuleError):
    """Not enough units of a product for a movement out of stock: nothing was written."""

    def __init__(self, message: str, product_id: int, field: str) -> None:
        # On a form with item lines, on the quantity of the line with this product.
        super().__init__(message, field=field, line=("product", product_id, "quantity"))
        self.product_id = product_id


_products = Product.__table__
_movements = StockMovement.__table__


def apply_movements(session: Session, movements: Iterable[Movement], actor: Actor | None = None) -> list[int]:
    """Apply each movement to its product's stock and record it (a movement of 0 is skipped),
    in the session's transaction; return the balances. Products are updated in id order, so
    two transactions moving the same products wait for each other instead of deadlocking.
    Raises :class:`StockShortage` when a product has too few units: the caller rolls back
    (a flush does so itself)."""
    wanted = sorted((m for m in movements if m.quantity), key=lambda m: (m.product_id, -m.quantity))  # returns first
    if not wanted:
        return []
    actor = actor or current_actor()
    connection = session.connection(bind_arguments={"mapper": inspect(Product)})
    now = utcnow()
    balances, rows, history = [], [], []
    for movement in wanted:
        statement = (update(_products).where(_products.c.id == movement.product_id)
                     .values(stock=_products.c.stock + movement.quantity)
                     .returning(_products.c.stock, _products.c.name))
        if movement.quantity < 0:
            statement = statement.where(_products.c.stock >= -movement.quantity)
        row = connection.execute(statement).first()
        if row is None:  # no row matched: too few units (or no such product)
            raise _shortage(connection, movement)
        balance, name = row
        balances.append(balance)
        _show_new_stock(session, movement.product_id, balance)
        rows.append(dict(product_id=movement.product_id, quantity=movement.quantity, balance=balance,
                         reason=movement.reason, order_id=movement.order_id, order_number=movement.order_number,
                         actor_id=actor.id, actor_label=actor.label, created_at=now, note=movement.note))
        history.append(_history_entry(movement, balance, name, actor, now))
    connection.execute(insert(_movements), rows)
    connection.execute(insert(AuditLog.__table__), history)
    return balances


def _shortage(connection: Any, movement: Movement) -> StockShortage:
    row = connection.execute(select(_products.c.name, _products.c.sku, _products.c.stock)
                             .where(_products.c.id == movement.product_id)).first()
    if row is None:
        return StockShortage(_("There is no product #%(id)s.", id=movement.product_id), movement.product_id,
                             movement.field)
    product = f"{row.name} ({row.sku})" if row.sku else row.name
    if movement.order_label:
        message = _("%(order)s needs %(wanted)s more of %(product)s, but only %(left)s left in stock.",
                    order=movement.order_label, wanted=-movement.quantity, product=product, left=row.stock)
    else:
        message = _("Stock of %(product)s cannot go below 0: only %(left)s left, %(wanted)s taken out.",
                    product=product, left=row.stock, wanted=-movement.quantity)
    return StockShortage(message, movement.product_id, movement.field)


def _show_new_stock(session: Session, product_id: int, balance: int) -> None:
    """The product in this session (if loaded) shows the stock the database now holds."""
    product = session.identity_map.get(identity_key(Product, product_id))
    if product is not None:
        set_committed_value(product, "stock", balance)


def _history_entry(movement: Movement, balance: int, name: str, actor: Actor, when: datetime) -> dict[str, Any]:
    """The product's history entry of a movement (stored in English, as every entry is)."""
    changes: dict[str, Any] = {"stock": [balance - movement.quantity, balance], "reason": movement.reason}
    if movement.order_number:
        changes["order"] = f"#{movement.order_number}"
    if movement.note:
        changes["note"] = movement.note
    return dict(created_at=when, actor_id=actor.id, actor_label=actor.label, action="stock",
                entity_type="Product", entity_id=str(movement.product_id), entity_label=(name or "")[:200],
                part_of_type=None, part_of_id=None, changes=changes)


def adjust_stock(product: Product, quantity: int, reason: str, note: str | None = None) -> int:
    """Staff's "Adjust stock": ``quantity`` units in (or out, negative) for ``reason``
    (received, correction; import for a spreadsheet). Returns the new stock; the caller
    commits. Raises :class:`DataRuleError` for a reason or quantity that is no movement,
    :class:`StockShortage` when it would take more than is there."""
    if reason not in (*MANUAL_REASONS, "import"):
        raise DataRuleError(_("Choose why the stock changes: received or correction."), field="reason")
    if not isinstance(quantity, int) or isinstance(quantity, bool) or quantity == 0 or abs(quantity) > MAX_INTEGER:
        raise DataRuleError(_("Enter a whole number of units other than 0 (negative to take units out)."),
                            field="quantity")
    session = object_session(product) or db.session
    if inspect(product).key is None:
        session.flush()  # the product's row first: the movement refers to it
    (balance,) = apply_movements(session, [Movement(product.id, quantity, reason, note=(note or "").strip() or None)])
    return balance


# --- the opening balance of a new product, and no other writes to stock ---------------------


@event.listens_for(Product.stock, "set", retval=False)
def _stock_only_through_movements(product: Product, value: Any, old: Any, initiator: Any) -> None:
    """A new product may be given its opening stock; a stored one's stock changes only through
    movements (:func:`adjust_stock`, orders)."""
    if inspect(product).key is not None:
        raise DataRuleError(_("Stock changes only through stock movements: use Adjust stock (received or "
                              "correction)."), field="stock")


@event.listens_for(Session, "after_flush")
def _record_opening_balances(session: Session, flush_context: Any) -> None:
    """The stock a new product was inserted with is its opening balance in the ledger."""
    opening = [product for product in session.new if isinstance(product, Product) and product.stock]
    if not opening:
        return
    actor = current_actor()
    connection = session.connection(bind_arguments={"mapper": inspect(Product)})
    now = utcnow()
    connection.execute(insert(_movements), [
        dict(product_id=p.id, quantity=p.stock, balance=p.stock, reason="opening_balance", actor_id=actor.id,
             actor_label=actor.label, created_at=now, note=None) for p in opening])


@event.listens_for(Session, "before_flush")
def _movements_are_written_by_the_ledger(session: Session, flush_context: Any, instances: Any) -> None:
    """The ledger is append-only and written by :func:`apply_movements` alone: an ORM insert
    would not move the stock, an update or delete would rewrite the past. Purging a product
    removes its movements with it (they are its parts)."""
    for record in (*session.new, *session.dirty):
        if isinstance(record, StockMovement) and (record in session.new or session.is_modified(record)):
            raise DataRuleError(_("Stock movements are written by the stock ledger only: use Adjust stock."))
    purged = {record for record in session.deleted if isinstance(record, Product)}
    for record in session.deleted:
        if isinstance(record, StockMovement) and record.product not in purged:
            raise DataRuleError(_("Stock movements are written by the stock ledger only: use Adjust stock."))


# --- checking the ledger --------------------------------------------------------------------


@dataclass(frozen=True)
class StockDifference:
    product_id: int
    name: str
    stock: int
    ledger: int


def stock_differences(session: Session | None = None) -> list[StockDifference]:
    """Every product (in the trash too) whose stock is not the sum of its movements."""
    session = session or db.session
    ledger = (select(_movements.c.product_id, func.sum(_movements.c.quantity).label("total"))
              .group_by(_movements.c.product_id).subquery())
    total = func.coalesce(ledger.c.total, 0)
    statement = (select(_products.c.id, _products.c.name, _products.c.stock, total)
                 .select_from(_products.outerjoin(ledger, ledger.c.product_id == _products.c.id))
                 .where(_products.c.stock != total).order_by(_products.c.id))
    connection = session.connection(bind_arguments={"mapper": inspect(Product)})
    return [StockDifference(*row) for row in connection.execute(statement)]


def movements_of(product: Product, limit: int = 50) -> Sequence[StockMovement]:
    """A product's latest movements, newest first."""
    return db.session.scalars(select(StockMovement).where(StockMovement.product_id == product.id)
                              .order_by(StockMovement.created_at.desc(), StockMovement.id.desc())
                              .limit(limit)).all()
