"""Erasure on request (GDPR "right to be forgotten") for a customer who cannot be purged.

A customer with orders can never be purged: the orders, and what was paid, must stay.
:func:`anonymise_customer` keeps the record and its orders and replaces what identifies the
person: username and email become placeholders that stay unique (``erased-<id>``,
``erased-<id>@erased.example``, a reserved domain that the email fields still accept),
names are cleared, the password and preferences go, every address and the author name of
their comments read ``(erased)``. Their values in the
change history are redacted too, so the old values cannot be found there either; one new
history entry records who erased the customer and when, without the old values.

The changes are Core statements on the session's transaction (the caller commits), so the
change history's listeners do not copy the old values into new entries; each row's
``version_id`` is bumped, so a form opened before the erasure cannot save over it.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update

from admin_app.accounts.models import Address, Customer, User, search_key
from admin_app.audit.models import AuditLog
from admin_app.audit.services import current_actor
from admin_app.content.models import Comment
from admin_app.core.models import utcnow
from admin_app.core.soft_delete import RecordInTrash, in_the_trash
from admin_app.extensions import db

ERASED = "(erased)"
REDACTED = "[erased]"
#: Fields whose values identify the person, per history entity type.
PERSONAL_FIELDS: dict[str, frozenset[str]] = {
    "Customer": frozenset({"username", "email", "first_name", "last_name", "preferences"}),
    "Address": frozenset({"street", "city", "state", "zip_code", "country"}),
    "Comment": frozenset({"author_name"}),
}


def placeholder(customer: Customer) -> str:
    return f"erased-{customer.id}"


def is_erased(customer: Customer) -> bool:
    return customer.username == placeholder(customer)


def _bump(model: Any) -> dict[str, Any]:
    """What a Core UPDATE must set itself: the version (optimistic locking) and the time."""
    return {"version_id": model.version_id + 1, "updated_at": utcnow()}


def _redacted(changes: dict[str, Any], fields: frozenset[str]) -> dict[str, Any]:
    def redact(value: Any) -> Any:
        if isinstance(value, list):
            return [None if v is None else REDACTED for v in value]
        return value  # "set" / "changed" markers carry no value

    return {key: redact(value) if key in fields else value for key, value in changes.items()}


def anonymise_customer(customer: Customer) -> AuditLog:
    """Erase ``customer``'s personal data, in its history too (see the module docs), and
    return the one history entry that records it. Refuses a customer in the trash
    (restore it first: the trash does not change)."""
    if in_the_trash(customer):
        raise RecordInTrash(customer)
    session = db.session
    session.flush()
    name = placeholder(customer)
    session.execute(update(User).where(User.id == customer.id).values(
        username=name, email=f"{name}@erased.example", first_name=None, last_name=None, password_hash=None,
        search_key=search_key({"username": name, "email": f"{name}@erased.example"}), preferences={},
        **_bump(User)).execution_options(synchronize_session=False))
    session.execute(update(Address).where(Address.user_id == customer.id).values(
        street=ERASED, city=ERASED, state="", zip_code="-", country=ERASED, **_bump(Address))
        .execution_options(synchronize_session=False))
    session.execute(update(Comment).where(Comment.user_id == customer.id).values(
        author_name=ERASED, **_bump(Comment)).execution_options(synchronize_session=False))
    address_ids = [str(i) for i in session.scalars(select(Address.id).where(Address.user_id == customer.id))]
    comments = {str(c.id): c for c in session.scalars(
        select(Comment).where(Comment.user_id == customer.id).execution_options(include_deleted=True))}
    _redact_history("Customer", [str(customer.id)], lambda entity_id: name)
    _redact_history("Address", address_ids, lambda entity_id: ERASED)
    session.expire_all()  # the rows changed behind the session's back
    _redact_history("Comment", list(comments), lambda entity_id: str(comments[entity_id])[:200])
    actor = current_actor()
    # The history log is never audited itself: this is the one entry of the erasure.
    entry = AuditLog(actor_id=actor.id, actor_label=actor.label, action="erase", entity_type="Customer",
                     entity_id=str(customer.id), entity_label=name,
                     changes={field: "erased" for field in ("username", "email", "first_name", "last_name",
                                                            "password_hash", "addresses", "comments")})
    session.add(entry)
    session.flush()
    return entry


def _redact_history(entity_type: str, entity_ids: list[str], label: Any) -> None:
    """Replace the personal values in the history entries of these records, and their labels."""
    if not entity_ids:
        return
    fields = PERSONAL_FIELDS[entity_type]
    entries = db.session.scalars(select(AuditLog).where(AuditLog.entity_type == entity_type,
                                                        AuditLog.entity_id.in_(entity_ids)))
    for entry in entries:
        entry.changes = _redacted(dict(entry.changes or {}), fields)
        entry.entity_label = label(entry.entity_id)
    db.session.flush()


def anonymise_customers(ids: list[int]) -> tuple[list[Customer], list[tuple[int, str]]]:
    """Erase each of these customers (the caller commits, once): those erased, and the ids
    refused with the reason. A customer in the trash is refused: restore it first."""
    erased: list[Customer] = []
    refused: list[tuple[int, str]] = []
    for customer_id in ids:
        # A query, not session.get(): the identity map could hand back one now in the trash.
        customer = db.session.scalars(select(Customer).where(Customer.id == customer_id)).first()
        if customer is None:
            refused.append((customer_id, "no such customer, or in the trash: restore it first"))
        elif is_erased(customer):
            refused.append((customer_id, "already anonymised"))
        else:
            anonymise_customer(customer)
            erased.append(customer)
    return erased, refused
