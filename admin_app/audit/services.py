"""Change history: every ORM insert, update and delete leaves an ``audit_log`` row.

How it works
------------
Session events on :class:`sqlalchemy.orm.Session` (so ``db.session`` and any
``Session(db.engine)`` alike) and mapper events on every model:

- ``before_flush`` notes who is acting, and for changed attributes whose previous value the
  session never loaded (set on an expired object, or a JSON dict changed in place) reads
  that value from the database while the row still holds it.
- ``after_insert`` / ``after_update`` / ``after_delete`` (mapper events) queue each record
  the flush wrote, including orphans deleted by ``delete-orphan`` cascades.
- ``after_flush`` turns the queue into rows, using the attribute history that is still
  intact at that point, and inserts them with one Core ``INSERT`` on the flush's own
  connection. The entries are therefore part of the same transaction: a rollback or a
  failed commit leaves none, a commit always has them.

Core statements (``insert(Model.__table__)``, bulk ``update()``) bypass the ORM and are not
recorded; the demo seeding relies on that to stay fast. A bulk admin action that should leave
history loads the records and changes them one by one (the bulk actions do: each change is
an ordinary entry, e.g. ``update`` of the status).

Reading an unloaded old value costs one SELECT per changed record; records loaded before
they are changed (as an edit form does) cost nothing extra.

Who and why
-----------
:func:`current_actor` is, in order: whatever :func:`audit_actor` / :func:`set_actor` set;
the signed-in employee of the current request (Flask-Login); otherwise ``"system"``.
:func:`audit_action` relabels the entries written inside it (``"status:paid"``); no view
uses it yet, the bulk actions' entries are plain updates. Both are context variables read
when the session flushes, so commit inside the ``with`` block.

Wholes and parts
----------------
An entry of a part (an order item, an address: see ``core.models.whole_relationship``) names
its whole in ``part_of_type`` / ``part_of_id``; :func:`history_of` gives a whole's entries
with its parts' interleaved, newest first (an order's history shows its items' changes).

Call :func:`register_audit_listeners` once at start-up (it is idempotent).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from contextvars import ContextVar, Token
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from decimal import Decimal
from enum import Enum
from typing import Any
from uuid import UUID

from flask import current_app, has_request_context
from flask_babel import force_locale
from flask_login import current_user
from sqlalchemy import Column, Numeric, Select, and_, event, insert, inspect, or_, select
from sqlalchemy.orm import (
    MANYTOONE,
    ColumnProperty,
    InstanceState,
    Mapper,
    Session,
    UOWTransaction,
    object_session,
)
from sqlalchemy.orm.attributes import NEVER_SET, NO_VALUE
from sqlalchemy.orm.exc import ObjectDeletedError

from admin_app.accounts.models import Employee, User, UserSession
from admin_app.audit.models import AuditLog
from admin_app.core.models import whole_relationship
from admin_app.extensions import db

__all__ = [
    "CLI",
    "SYSTEM",
    "Actor",
    "audit_action",
    "audit_actor",
    "current_action_label",
    "current_actor",
    "history_of",
    "register_audit_listeners",
    "reset_actor",
    "set_actor",
    "unregister_audit_listeners",
]

# Bookkeeping columns move on every write; listing them would make every entry noisy and a
# flush that changes only them is not a change anyone made.
# Bookkeeping, not changes anyone made: items_subtotal follows the order's items, whose own
# entries say what changed.
IGNORED_FIELDS = frozenset({"updated_at", "version_id", "items_subtotal", "search_key"})  # derived, kept by the models
# Not repeated in a "create" entry: the entry has its own timestamp.
IGNORED_ON_CREATE = IGNORED_FIELDS | {"created_at"}
# Attribute names whose values must never reach the log (password_hash, API secrets...):
# only the fact of a change is recorded.
SECRET_FIELD = re.compile(r"password|secret|token", re.IGNORECASE)
# Many-to-many collections recorded as a field of the owning record, as sorted lists of
# ``str(item)``. Only one side of each pair is listed, so one link change is one entry.
AUDITED_COLLECTIONS: dict[str, tuple[str, ...]] = {"Post": ("tags",)}
# Models that are never audited: the log itself, and sign-in sessions (sign-ins and
# sign-outs have their own log lines). Association tables such as ``post_tags`` are not
# mapped classes and so never reach the listeners.
EXCLUDED_MODELS: tuple[type, ...] = (AuditLog, UserSession)

LABEL_LENGTH = 200
_UNKNOWN = (NO_VALUE, NEVER_SET)

# Keys in ``Session.info``; the values live only for the duration of one flush.
_PENDING = "audit.pending"
_OLD_VALUES = "audit.old_values"
_CONTEXT = "audit.context"


# --- who is acting ------------------------------------------------------------------------


@dataclass(frozen=True)
class Actor:
    """Who made a change: an employee (``id`` set) or a named process (``id`` is None)."""

    id: int | None
    label: str


SYSTEM = Actor(None, "system")
CLI = Actor(None, "cli")

_actor: ContextVar[Actor | None] = ContextVar("audit_actor", default=None)
_action: ContextVar[str | None] = ContextVar("audit_action", default=None)


def _as_actor(actor: Actor | User | str) -> Actor:
    if isinstance(actor, Actor):
        return actor
    if isinstance(actor, str):
        return Actor(None, actor)
    # Resolved now, not at flush time: the employee object may be expired or detached by then.
    return Actor(actor.id, actor.username)


def set_actor(actor: Actor | User | str) -> Token[Actor | None]:
    """Attribute the following changes to ``actor`` (an employee, "cli", "system" ...).

    Returns the token for :func:`reset_actor`; prefer :func:`audit_actor`, which resets itself.
    """
    return _actor.set(_as_actor(actor))


def reset_actor(token: Token[Actor | None]) -> None:
    """Undo the :func:`set_actor` call that returned ``token``."""
    _actor.reset(token)


@contextmanager
def audit_actor(actor: Actor | User | str) -> Iterator[Actor]:
    """``with audit_actor("cli"): ...; db.session.commit()`` — changes inside are by ``actor``.

    Also a decorator (``@audit_actor("cli")`` on a click command, below ``@with_appcontext``).
    """
    token = set_actor(actor)
    try:
        yield _as_actor(actor)
    finally:
        _actor.reset(token)


@contextmanager
def audit_action(label: str) -> Iterator[None]:
    """Record the entries written inside the block with action ``label`` (e.g.
    ``"status:paid"``) instead of create/update/delete, so a bulk action names itself."""
    token = _action.set(label)
    try:
        yield
    finally:
        _action.reset(token)


def current_action_label() -> str | None:
    """The label set by the innermost :func:`audit_action`, if any."""
    return _action.get()


def current_actor() -> Actor:
    """The explicit actor if one is set, else the request's signed-in employee, else "system"."""
    explicit = _actor.get()
    if explicit is not None:
        return explicit
    employee = _request_employee()
    if employee is not None:
        return Actor(employee.id, employee.username)
    return SYSTEM


def _request_employee() -> Employee | None:
    if not has_request_context() or getattr(current_app, "login_manager", None) is None:
        return None
    user = current_user._get_current_object()
    if isinstance(user, Employee) and user.is_authenticated:
        return user
    return None


# --- values -------------------------------------------------------------------------------


def to_json(value: Any, column: Any = None) -> Any:
    """A JSON-safe form of a column value: Decimal as text (with the column's scale), dates
    and times in ISO 8601, enums by value, containers recursively."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    for kinds, convert in _JSON_FORMS:
        if isinstance(value, kinds):
            return convert(value, column)
    return str(value)


def _decimal_json(value: Decimal, column: Any) -> str:
    column_type = getattr(column, "type", None)
    scale = getattr(column_type, "scale", None)
    return f"{value:.{scale}f}" if isinstance(column_type, Numeric) and isinstance(scale, int) else str(value)


#: :func:`to_json`'s form of each kind of value, the first that fits.
_JSON_FORMS: tuple[tuple[type | tuple[type, ...], Callable[[Any, Any], Any]], ...] = (
    (Decimal, _decimal_json),
    ((datetime, date, time), lambda value, _column: value.isoformat()),
    (timedelta, lambda value, _column: value.total_seconds()),
    (Enum, lambda value, _column: to_json(value.value)),
    (UUID, lambda value, _column: str(value)),
    ((bytes, bytearray, memoryview), lambda value, _column: f"<{len(bytes(value))} bytes>"),
    (dict, lambda value, _column: {str(key): to_json(item) for key, item in value.items()}),
    ((list, tuple), lambda value, _column: [to_json(item) for item in value]),
    ((set, frozenset), lambda value, _column: sorted((to_json(item) for item in value), key=str)),
)


def _is_secret(key: str) -> bool:
    return bool(SECRET_FIELD.search(key))


def _audited(obj: Any) -> bool:
    # A model may keep its own record of changes (``__audited__ = False``: the stock ledger,
    # whose movements enter the product's history themselves).
    return (isinstance(obj, db.Model) and not isinstance(obj, EXCLUDED_MODELS)
            and getattr(type(obj), "__audited__", True))


def _collections_of(mapper: Mapper[Any]) -> tuple[str, ...]:
    for cls in mapper.class_.__mro__:
        if cls.__name__ in AUDITED_COLLECTIONS:
            return AUDITED_COLLECTIONS[cls.__name__]
    return ()


def _names(items: Iterable[Any]) -> list[str]:
    return sorted(str(item) for item in items)


def _column(mapper: Mapper[Any], key: str) -> Any:
    return mapper.column_attrs[key].columns[0]


def _column_props(mapper: Mapper[Any]) -> list[ColumnProperty[Any]]:
    """Attributes stored in a table column; SQL expressions (``column_property``,
    ``query_expression``) are computed, not edited, and stay out of the log."""
    return [prop for prop in mapper.column_attrs if isinstance(prop.columns[0], Column)]


# --- listeners ----------------------------------------------------------------------------


def _before_flush(session: Session, flush_context: UOWTransaction, instances: Sequence[Any] | None) -> None:
    session.info[_PENDING] = []
    # Resolved once per flush, before any SQL of the flush runs (Flask-Login may load the
    # employee through this very session).
    session.info[_CONTEXT] = (current_actor(), _action.get())
    old_values: dict[InstanceState[Any], dict[str, Any]] = {}
    for obj in session.dirty:
        if _audited(obj):
            state = inspect(obj)
            unknown = _keys_without_old_value(state)
            if unknown and state.key is not None:
                old_values[state] = _read_current_row(session, state, unknown)
    session.info[_OLD_VALUES] = old_values
    for obj in session.deleted:
        if _audited(obj):
            _load_expired(obj)


def _unknown(committed: Any) -> bool:
    """Whether a committed-state entry means "changed, but the old value was never loaded"."""
    return any(committed is symbol for symbol in _UNKNOWN)


def _keys_without_old_value(state: InstanceState[Any]) -> list[str]:
    """Column attributes that will change in this flush but whose old value is not known."""
    mapper = state.mapper
    keys = [prop.key for prop in _column_props(mapper) if _unknown(state.committed_state.get(prop.key))]
    # ``product.category = other`` changes ``category_id`` only during the flush, by which time
    # the row holds the new value: read the foreign key now if it is not loaded.
    for relationship in mapper.relationships:
        if relationship.direction is not MANYTOONE or relationship.viewonly:
            continue
        if not state.attrs[relationship.key].history.has_changes():
            continue
        for column in relationship.local_columns:
            key = mapper.get_property_by_column(column).key
            if key not in state.dict and key not in keys:
                keys.append(key)
    return keys


def _read_current_row(session: Session, state: InstanceState[Any], keys: list[str]) -> dict[str, Any]:
    """The stored values of ``keys`` for the row behind ``state``, read with Core so the
    session's pending changes are neither flushed nor overwritten."""
    mapper = state.mapper
    columns = [_column(mapper, key) for key in keys]
    identity = state.identity
    if identity is None:
        return {}
    where = and_(*(pk == value for pk, value in zip(mapper.primary_key, identity, strict=True)))
    connection = session.connection(bind_arguments={"mapper": mapper})
    row = connection.execute(select(*columns).where(where)).first()
    if row is None:  # deleted meanwhile: the flush is about to fail with StaleDataError
        return {}
    return dict(zip(keys, row, strict=True))


def _load_expired(obj: Any) -> None:
    """Load a to-be-deleted record's expired columns now, while its row still exists: the
    delete entry snapshots them and purge is told from delete by ``deleted_at``."""
    state = inspect(obj)
    expired = state.expired_attributes & {prop.key for prop in _column_props(state.mapper)}
    if expired and state.key is not None:
        try:
            getattr(obj, next(iter(expired)))  # one SELECT loads every expired column
        except ObjectDeletedError:  # already gone: the flush itself fails, with a better message
            return


def _queue(kind: str) -> Any:
    def listener(mapper: Mapper[Any], connection: Any, target: Any) -> None:
        if not _audited(target):
            return
        session = object_session(target)
        if session is not None:
            session.info.setdefault(_PENDING, []).append((kind, inspect(target)))

    listener.__name__ = f"_audit_after_{kind}"
    return listener


_after_insert = _queue("create")
_after_update = _queue("update")
_after_delete = _queue("delete")


def _after_flush(session: Session, flush_context: UOWTransaction) -> None:
    pending: list[tuple[str, InstanceState[Any]]] = session.info.pop(_PENDING, [])
    old_values: dict[InstanceState[Any], dict[str, Any]] = session.info.pop(_OLD_VALUES, {})
    actor, label = session.info.pop(_CONTEXT, None) or (current_actor(), _action.get())
    if not pending:
        return
    # An employee deleting their own account: the FK would point at a row gone in this flush.
    deleted_users = {state.identity for kind, state in pending
                     if kind == "delete" and issubclass(state.class_, User)}
    actor_id = None if actor.id is not None and (actor.id,) in deleted_users else actor.id
    common = {"actor_id": actor_id, "actor_label": actor.label}
    rows = [{**common, **row} for row in _entry_rows(pending, old_values, label)]
    if rows:
        connection = session.connection(bind_arguments={"mapper": inspect(AuditLog)})
        connection.execute(insert(AuditLog.__table__), rows)


def _entry_rows(pending: list[tuple[str, InstanceState[Any]]], old_values: dict[InstanceState[Any], dict[str, Any]],
                label: str | None) -> Iterator[dict[str, Any]]:
    """One history row per record and kind of change this flush wrote (a record queued
    twice for the same kind is entered once)."""
    seen: set[tuple[str, int]] = set()
    for kind, state in pending:
        if (kind, id(state)) in seen:
            continue
        seen.add((kind, id(state)))
        entry = _entry(kind, state, old_values.get(state, {}))
        if entry is None:
            continue
        action, changes = entry
        part_of_type, part_of_id = _whole_of(state)
        yield {
            "action": label or action,
            "entity_type": state.class_.__name__,
            "entity_id": _entity_id(state),
            "entity_label": _label(state),
            "changes": changes,
            "part_of_type": part_of_type,
            "part_of_id": part_of_id,
        }


def _after_soft_rollback(session: Session, previous_transaction: Any) -> None:
    for key in (_PENDING, _OLD_VALUES, _CONTEXT):
        session.info.pop(key, None)


# --- entries ------------------------------------------------------------------------------


def _entry(
    kind: str, state: InstanceState[Any], old_values: dict[str, Any]
) -> tuple[str, dict[str, Any]] | None:
    if kind == "create":
        return "create", _created(state)
    if kind == "delete":
        purged = state.dict.get("deleted_at") is not None
        return ("purge" if purged else "delete"), _deleted(state)
    changes = _updated(state, old_values)
    if not changes:
        return None
    action = "update"
    deleted_at = changes.get("deleted_at")
    if isinstance(deleted_at, list):
        if deleted_at[0] is None and deleted_at[1] is not None:
            action = "soft_delete"
        elif deleted_at[0] is not None and deleted_at[1] is None:
            action = "restore"
    return action, changes


def _created(state: InstanceState[Any]) -> dict[str, Any]:
    mapper = state.mapper
    # The key is the entry's entity_id and the discriminator its entity_type.
    skipped = {*mapper.primary_key, mapper.polymorphic_on}
    changes: dict[str, Any] = {}
    for prop in _column_props(mapper):
        column = prop.columns[0]
        value = state.dict.get(prop.key)
        if prop.key in IGNORED_ON_CREATE or column in skipped or value is None:
            continue
        changes[prop.key] = "set" if _is_secret(prop.key) else [None, to_json(value, column)]
    for key in _collections_of(mapper):
        names = _names(state.dict.get(key) or ())
        if names:
            changes[key] = [[], names]
    return changes


def _updated(state: InstanceState[Any], old_values: dict[str, Any]) -> dict[str, Any]:
    return {**_column_changes(state, old_values), **_collection_changes(state)}


def _column_changes(state: InstanceState[Any], old_values: dict[str, Any]) -> dict[str, Any]:
    """``{key: [old, new]}`` of the columns this flush changed (a secret: "changed")."""
    changes: dict[str, Any] = {}
    for prop in _column_props(state.mapper):
        key = prop.key
        if key in IGNORED_FIELDS:
            continue
        history = state.attrs[key].history
        if not history.has_changes():
            continue
        new = history.added[0] if history.added else None
        if history.deleted:
            old = history.deleted[0]
        else:  # the session never knew the old value: use the one read before the flush
            old = old_values.get(key)
        column = prop.columns[0]
        if _same(old, new, column):
            continue
        changes[key] = "changed" if _is_secret(key) else [to_json(old, column), to_json(new, column)]
    return changes


def _collection_changes(state: InstanceState[Any]) -> dict[str, Any]:
    """``{key: [names before, names after]}`` of the links this flush changed (a post's tags)."""
    changes: dict[str, Any] = {}
    for key in _collections_of(state.mapper):
        history = state.attrs[key].history
        if not (history.added or history.deleted):
            continue
        before = _names([*history.unchanged, *history.deleted])
        after = _names([*history.unchanged, *history.added])
        if before != after:
            changes[key] = [before, after]
    return changes


def _same(old: Any, new: Any, column: Any) -> bool:
    try:
        if old == new:
            return True
    except Exception:  # e.g. aware vs naive datetimes: compare the JSON forms
        pass
    return bool(to_json(old, column) == to_json(new, column))


def _deleted(state: InstanceState[Any]) -> dict[str, Any]:
    """The record as it was, as ``{field: [value, None]}`` (secrets left out)."""
    mapper = state.mapper
    primary_key = set(mapper.primary_key)
    changes: dict[str, Any] = {}
    for prop in _column_props(mapper):
        column = prop.columns[0]
        value = state.dict.get(prop.key)
        if prop.key in IGNORED_ON_CREATE or column in primary_key or value is None or _is_secret(prop.key):
            continue
        changes[prop.key] = [to_json(value, column), None]
    return changes


def _entity_id(state: InstanceState[Any]) -> str | None:
    # ``state.identity`` is only set once the flush is finalised; a new row's key is already
    # in its attributes.
    mapper = state.mapper
    values = state.identity or tuple(
        state.dict.get(mapper.get_property_by_column(column).key) for column in mapper.primary_key
    )
    if any(value is None for value in values):
        return None
    return ",".join(str(value) for value in values)


def _whole_of(state: InstanceState[Any]) -> tuple[str | None, str | None]:
    """The type and id of the whole a part belongs to after the flush (before, for a deleted
    part), or ``(None, None)`` for a record that is no part."""
    relationship = whole_relationship(state.class_)
    if relationship is None:
        return None, None
    (column,) = relationship.local_columns
    whole_id = state.dict.get(state.mapper.get_property_by_column(column).key)
    if whole_id is None:
        return None, None
    return relationship.mapper.class_.__name__, str(whole_id)


def history_of(entity_type: str, entity_id: str) -> Select[tuple[AuditLog]]:
    """The entries of a record and, if it is a whole, of its parts, newest first."""
    return (select(AuditLog)
            .where(or_(and_(AuditLog.entity_type == entity_type, AuditLog.entity_id == entity_id),
                       and_(AuditLog.part_of_type == entity_type, AuditLog.part_of_id == entity_id)))
            .order_by(AuditLog.created_at.desc(), AuditLog.id.desc()))


def _label(state: InstanceState[Any]) -> str | None:
    obj = state.obj()
    if obj is None:
        return None
    try:
        # Stored once for everyone: in English, whatever the language of who made the change.
        with force_locale("en"):
            label = str(obj)
    except Exception:  # a label is a convenience; never fail the user's commit for it
        label = f"{state.class_.__name__} #{_entity_id(state)}"
    return label[:LABEL_LENGTH]


# --- registration -------------------------------------------------------------------------

_SESSION_LISTENERS = (
    ("before_flush", _before_flush),
    ("after_flush", _after_flush),
    ("after_soft_rollback", _after_soft_rollback),
)
_MAPPER_LISTENERS = (
    ("after_insert", _after_insert),
    ("after_update", _after_update),
    ("after_delete", _after_delete),
)


def register_audit_listeners() -> None:
    """Start recording changes (every Session, every model). Safe to call more than once."""
    for name, listener in _SESSION_LISTENERS:
        if not event.contains(Session, name, listener):
            event.listen(Session, name, listener)
    for name, listener in _MAPPER_LISTENERS:
        if not event.contains(db.Model, name, listener):
            # propagate: the listener applies to every model class, present and future.
            event.listen(db.Model, name, listener, propagate=True)


def unregister_audit_listeners() -> None:
    """Stop recording changes (for tools and tests that must write without history)."""
    for name, listener in _SESSION_LISTENERS:
        if event.contains(Session, name, listener):
            event.remove(Session, name, listener)
    for name, listener in _MAPPER_LISTENERS:
        if event.contains(db.Model, name, listener):
            event.remove(db.Model, name, listener)
