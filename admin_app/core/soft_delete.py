"""The trash rule, in one place: rows in the trash are left out of every ORM read.

A record with :class:`~admin_app.core.models.SoftDeleteMixin` is *in the trash* while its
``deleted_at`` is set; its parts marked ``info=PARTS_IN_ITS_TRASH`` (an order's items)
are in the trash with it. :func:`_leave_out_the_trash`, SQLAlchemy's global-criteria recipe
(``do_orm_execute`` + ``with_loader_criteria``, "Adding global WHERE / ON criteria" in its
ORM querying guide), adds ``deleted_at IS NULL`` (the very predicate of the live-row partial
indexes) to every SELECT that goes through a ``Session``: ``select(Order)``,
``select(Order.id, Order.total)``, ``session.get()``, legacy ``Query``, subqueries, and the
loads of one-to-many collections (a category's children, a customer's orders).

What it does not cover, on purpose:

- Many-to-one references always load, deleted or not (an order shows its deleted customer,
  marked as deleted): their lazy loads are left alone, and the criteria do not propagate
  to joined eager loads.
- Column loads and refreshes of a record already loaded (it was read under the rule).
- Rows already in the session's identity map are not read again: ``session.get()`` of a
  record deleted earlier in the same session returns it. Every request starts with an
  empty session and every write redirects, so such a record cannot reach a page
  (``tests/integration/test_trash_everywhere.py``).
- Statements that bypass the ORM (``Connection.execute``, Core tables, raw SQL); the
  export's plain-row path applies :func:`live_rows_clause` itself.

The one opt-out is the execution option ``include_deleted=True`` (``INCLUDE_DELETED``);
what a read with it loads keeps seeing the trash in its collections. The README's
"Invariants" section lists the few places that use it.

:func:`_keep_the_trash_unchanged` is the other half of the rule: a record in the trash (or
a part of one) cannot be changed or given new parts on any path until it is restored;
purging removes it, erasure (Core statements) is the one writer allowed in.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from flask_babel import gettext as _
from sqlalchemy import ColumnElement, event, exists, inspect
from sqlalchemy.orm import (
    ORMExecuteState,
    RelationshipProperty,
    Session,
    UserDefinedOption,
    with_loader_criteria,
)

from admin_app.core.models import DataRuleError, SoftDeleteMixin
from admin_app.extensions import db

#: The execution option that lets a read see the trash.
INCLUDE_DELETED = "include_deleted"
# Attributes that move on their own (bookkeeping): not a change to a record in the trash.
BOOKKEEPING = frozenset({"deleted_at", "updated_at", "version_id"})


class RecordInTrash(DataRuleError):
    """A change to a record in the trash (or to one of its parts): restore it first."""

    def __init__(self, record: Any) -> None:
        self.record = record
        super().__init__(_("%(record)s is in the trash: restore it before changing it.", record=record))


class _LiveRowsOnly(UserDefinedOption):
    """Marks a statement that already carries the criteria (a selectin load copies its
    parent statement's options), so they are not added twice."""


class _SeesTheTrash(UserDefinedOption):
    """Marks a read made with ``include_deleted``. It travels with the records it loads
    (``propagate_to_loaders``), so their collections are read with the trash too."""

    propagate_to_loaders = True


LIVE_ROWS_ONLY = _LiveRowsOnly()
SEES_THE_TRASH = _SeesTheTrash()


@cache
def parts_in_the_trash() -> tuple[RelationshipProperty[Any], ...]:
    """Collections whose rows share their record's trash (``info=PARTS_IN_ITS_TRASH``)."""
    return tuple(relationship for mapper in db.Model.registry.mappers for relationship in mapper.relationships
                 if relationship.info.get("in_its_trash"))


def _whole_is_live(relationship: RelationshipProperty[Any]) -> ColumnElement[bool]:
    """``NOT EXISTS (SELECT * FROM <whole> WHERE <whole>.id = <part>.<fk> AND <whole>.deleted_at IS NOT NULL)``
    on the whole's *table*, so the whole's own criteria are not added inside it again.

    Not in the trash rather than "in a live whole": PostgreSQL answers it with an anti-join
    against the small partial index of the deleted rows (``deleted_index``), and on SQLite a
    capped count of a million order items costs less than with ``EXISTS`` (figures in
    ``bench/README.md``); a part without a whole stays visible."""
    whole = relationship.parent.local_table
    joined = [local == remote for local, remote in relationship.local_remote_pairs]
    return ~exists().where(*joined, whole.c.deleted_at.is_not(None))


def _trash_models() -> list[type]:
    """The mapped classes with a trash of their own (not a subclass of one: its criteria
    cover the subclasses)."""
    mapped = [mapper for mapper in db.Model.registry.mappers if issubclass(mapper.class_, SoftDeleteMixin)]
    return [mapper.class_ for mapper in mapped
            if mapper.inherits is None or not issubclass(mapper.inherits.class_, SoftDeleteMixin)]


@cache
def _criteria() -> tuple[Any, ...]:
    """The loader criteria, built once (after every model is mapped). One per mapped class,
    with ``include_aliases=False``: a statement's own entities are filtered, while a
    reference joined through an alias (the export's ``order → customer`` outer join, a sort
    or filter through a relationship) always loads, as a many-to-one reference should.
    (With the mixin as the target, SQLAlchemy applies the criteria only with
    ``include_aliases=True``.)"""
    options: list[Any] = [with_loader_criteria(model, model.deleted_at.is_(None), include_aliases=False,
                                               propagate_to_loaders=False) for model in _trash_models()]
    for relationship in parts_in_the_trash():
        options.append(with_loader_criteria(relationship.mapper.class_, _whole_is_live(relationship),
                                            include_aliases=False, propagate_to_loaders=False))
    return (LIVE_ROWS_ONLY, *options)


def live_rows_clause(model: Any) -> ColumnElement[bool] | None:
    """The criterion the rule adds for ``model`` (None if it has none), for statements that
    do not go through the ORM (the export's plain rows)."""
    if isinstance(model, type) and issubclass(model, SoftDeleteMixin):
        return model.deleted_at.is_(None)
    for relationship in parts_in_the_trash():
        if relationship.mapper.class_ is model:
            return _whole_is_live(relationship)
    return None


def _loads_a_reference(state: ORMExecuteState) -> bool:
    """Whether this is the lazy load of a many-to-one reference (``order.user``)."""
    path = state.loader_strategy_path
    last = path[-1] if path is not None and len(path) else None
    return isinstance(last, RelationshipProperty) and not last.uselist


@event.listens_for(Session, "do_orm_execute")
def _leave_out_the_trash(state: ORMExecuteState) -> None:
    if not state.is_select or state.is_column_load:
        return
    marks = state.user_defined_options
    if any(isinstance(mark, (_LiveRowsOnly, _SeesTheTrash)) for mark in marks):
        return
    if state.execution_options.get(INCLUDE_DELETED, False):
        state.statement = state.statement.options(SEES_THE_TRASH)
        return
    if state.is_relationship_load and _loads_a_reference(state):
        return
    state.statement = state.statement.options(*_criteria())


# --- the trash does not change -----------------------------------------------------------


def in_the_trash(record: Any) -> bool:
    """Whether ``record`` is in the trash, as stored (a pending soft delete does not count)."""
    if not isinstance(record, SoftDeleteMixin):
        return False
    history = inspect(record).attrs.deleted_at.history
    stored = history.deleted[0] if history.deleted else record.deleted_at
    return stored is not None


def trashed_whole(record: Any) -> Any | None:
    """The record itself if it is in the trash and stays there, or the whole in the trash
    that ``record`` is a part of (an item of a deleted order); else None."""
    if in_the_trash(record) and record.deleted_at is not None:
        return record
    for parts in parts_in_the_trash():
        if isinstance(record, parts.mapper.class_):
            # The part's own link to its whole (``item.order``): a reference, it always loads.
            whole = getattr(record, parts.back_populates)
            if whole is not None and trashed_whole(whole) is whole:
                return whole
    return None


def _changed(record: Any) -> bool:
    """New, or a stored column or (loaded) collection of parts changed."""
    state = inspect(record)
    if state.pending:
        return True
    if any(state.attrs[attribute.key].history.has_changes()
           for attribute in state.mapper.column_attrs if attribute.key not in BOOKKEEPING):
        return True
    return any(state.attrs[relationship.key].history.has_changes()
               for relationship in state.mapper.relationships if relationship.info.get("part"))


@event.listens_for(Session, "before_flush")
def _keep_the_trash_unchanged(session: Session, flush_context: Any, instances: Any) -> None:
    for record in (*session.new, *session.dirty):
        whole = trashed_whole(record)
        if whole is not None and _changed(record):
            raise RecordInTrash(whole)
