"""Leaving the trash: restore brings records back, purge removes them for good.

Purge never removes live data. :func:`purge_plan` lists, for each record, everything a purge
would remove (its parts, nested: ``relationship(info=PARTS)``, such as an order's items or a
customer's addresses and cart lines, and the links of a post's tags) and every *other* row
that refers to it or to one of its parts, live or in the trash (found through the schema's
foreign keys: a comment on a post, an order of a customer, an order item of a product).
Such a row blocks the purge. History entries stay (``audit_log`` refers to nobody it would
block: its actor link is ``SET NULL``). :func:`purge` removes the records that nothing
blocks, in the caller's transaction: the caller commits once, or rolls back everything.

Records are passed in as loaded with the ``include_deleted`` opt-out, so that their parts
(an order's items are in the trash with it) load with them.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

from sqlalchemy import ForeignKey, Table, func, inspect, select
from sqlalchemy.orm import MANYTOONE
from sqlalchemy.orm.attributes import set_committed_value

from admin_app.core.models import SoftDeleteMixin
from admin_app.core.soft_delete import in_the_trash
from admin_app.extensions import db

#: Referring records named per kind on the confirmation page (the count says how many more).
SHOWN_PER_KIND = 10
# Foreign keys that never block: the database removes (CASCADE: link tables) or unlinks
# (SET NULL: the history's actor) the referring rows itself.
HANDLED_BY_THE_DATABASE = frozenset({"CASCADE", "SET NULL"})


@dataclass
class Referrers:
    """Rows of one kind that refer to a record: the first few, and how many in all."""

    model: type
    via: str  # the referring column, as "comments.post_id"
    shown: list[Any]
    count: int


@dataclass
class PurgeItem:
    """A record a purge would remove, its parts (nested), and what blocks it."""

    record: Any
    parts: list[PurgeItem] = field(default_factory=list)
    links: list[tuple[str, list[str]]] = field(default_factory=list)  # (collection, labels)
    referrers: list[Referrers] = field(default_factory=list)  # of the record or of a part

    @property
    def blocked(self) -> bool:
        return any(r.count for r in self.referrers) or any(part.blocked for part in self.parts)

    def all_referrers(self) -> list[Referrers]:
        return [*self.referrers, *(r for part in self.parts for r in part.all_referrers())]

    def removed_count(self) -> int:
        return 1 + sum(part.removed_count() for part in self.parts)


@dataclass
class PurgePlan:
    items: list[PurgeItem]  # records in the trash, in the order given
    not_in_trash: list[Any]  # records given that are not in the trash (never purged)

    @property
    def ready(self) -> list[PurgeItem]:
        return [item for item in self.items if not item.blocked]

    @property
    def blocked(self) -> list[PurgeItem]:
        return [item for item in self.items if item.blocked]


# --- the schema: parts and the foreign keys that point at a table --------------------------


@cache
def _model_of_table() -> dict[Table, type]:
    """The mapped class of each table (the base class of an inheritance hierarchy)."""
    return {mapper.local_table: mapper.class_ for mapper in db.Model.registry.mappers
            if mapper.inherits is None and isinstance(mapper.local_table, Table)}


def _foreign_keys_to(table: Table) -> list[ForeignKey]:
    return [fk for other in db.metadata.sorted_tables for fk in other.foreign_keys if fk.column.table is table]


def _part_collections(record: Any) -> list[Any]:
    return [r for r in inspect(type(record)).relationships if r.info.get("part")]


def _value(record: Any, column: Any) -> Any:
    return getattr(record, inspect(type(record)).get_property_by_column(column).key)


def _referrers(record: Any, exclude: Sequence[Any]) -> list[Referrers]:
    """Rows (live or in the trash) that refer to ``record`` other than through its parts'
    own links; rows in ``exclude`` (others being purged with it) do not count."""
    part_columns = {remote for r in _part_collections(record) if r.secondary is None
                    for _local, remote in r.local_remote_pairs}
    foreign_keys = [fk for fk in _foreign_keys_to(inspect(type(record)).local_table)
                    if not (fk.ondelete and fk.ondelete.upper() in HANDLED_BY_THE_DATABASE)
                    and fk.parent not in part_columns]
    return [found for fk in foreign_keys if (found := _referrers_through(record, fk, exclude)) is not None]


def _referrers_through(record: Any, fk: ForeignKey, exclude: Sequence[Any]) -> Referrers | None:
    """The rows whose foreign key ``fk`` holds ``record``'s key (the first few, and how many)."""
    model = _model_of_table()[fk.parent.table]
    primary_key = inspect(model).primary_key[0]
    condition = [fk.parent == _value(record, fk.column)]
    excluded = [_value(other, primary_key) for other in exclude if isinstance(other, model)]
    if excluded:
        condition.append(primary_key.not_in(excluded))
    # Live or in the trash: a row in the trash blocks a purge as much as a live one.
    count = db.session.scalar(select(func.count()).select_from(model).where(*condition)
                              .execution_options(include_deleted=True)) or 0
    if not count:
        return None
    shown = db.session.scalars(select(model).where(*condition).order_by(*inspect(model).primary_key)
                               .limit(SHOWN_PER_KIND).execution_options(include_deleted=True)).all()
    return Referrers(model, f"{fk.parent.table.name}.{fk.parent.name}", list(shown), count)


def _item(record: Any, exclude: Sequence[Any]) -> PurgeItem:
    item = PurgeItem(record, referrers=_referrers(record, exclude))
    for collection in _part_collections(record):
        members = list(getattr(record, collection.key))  # the record sees the trash: so do its parts
        if collection.secondary is not None:
            if members:
                item.links.append((collection.key, sorted(str(member) for member in members)))
            continue
        _load_references(collection, members)
        item.parts.extend(_item(part, exclude) for part in members)
    return item


def _load_references(collection: Any, parts: list[Any]) -> None:
    """What the parts refer to besides their whole (an order's items: their products), one
    SELECT per reference for all the parts. The history labels each purged part
    (``str(item)`` names its product); the many-to-one loads then find the rows in the
    session instead of reading them one part at a time. Deleted rows too: a reference
    always loads, in the trash or not (see :mod:`admin_app.core.soft_delete`)."""
    for reference in collection.mapper.relationships:
        if (reference.direction is MANYTOONE and reference.secondary is None
                and reference.key != collection.back_populates and len(reference.local_remote_pairs) == 1):
            _load_reference(collection.mapper, reference, [p for p in parts if reference.key in inspect(p).unloaded])


def _load_reference(mapper: Any, reference: Any, parts: list[Any]) -> None:
    """``reference`` (a many-to-one) of every part, in one SELECT."""
    ((local, remote),) = reference.local_remote_pairs
    attribute = mapper.get_property_by_column(local).key
    keys = {getattr(part, attribute) for part in parts} - {None}
    if not keys:
        return
    remote_key = reference.mapper.get_property_by_column(remote).key
    found = {getattr(row, remote_key): row for row in db.session.scalars(
        select(reference.mapper.class_).where(remote.in_(keys)).execution_options(include_deleted=True))}
    for part in parts:
        set_committed_value(part, reference.key, found.get(getattr(part, attribute)))


def purge_plan(records: Iterable[Any]) -> PurgePlan:
    """What purging ``records`` would remove, and what blocks it (see the module docs)."""
    records = list(records)
    trashed = [r for r in records if isinstance(r, SoftDeleteMixin) and in_the_trash(r)]
    return PurgePlan([_item(record, trashed) for record in trashed], [r for r in records if r not in trashed])


# --- doing it -----------------------------------------------------------------------------


def _refers_to(record: Any, other: Any) -> bool:
    """Whether a foreign key of ``record``'s row holds ``other``'s key (a sub-category its parent)."""
    other_table = inspect(type(other)).local_table
    return any(fk.column.table is other_table and _value(record, fk.parent) == _value(other, fk.column)
               for fk in inspect(type(record)).local_table.foreign_keys)


def _referrers_first(items: list[PurgeItem]) -> list[PurgeItem]:
    """Records purged together in an order the foreign keys allow (children before parents)."""
    remaining, ordered = list(items), []
    while remaining:
        free = [i for i in remaining
                if not any(o is not i and _refers_to(o.record, i.record) for o in remaining)] or remaining[:1]
        ordered.extend(free)
        remaining = [i for i in remaining if i not in free]
    return ordered


def _delete(item: PurgeItem) -> None:
    for part in item.parts:
        _delete(part)
    db.session.delete(item.record)  # a post's tag links go with it (secondary rows)


@dataclass
class PurgeReport:
    purged: list[PurgeItem]
    blocked: list[PurgeItem]
    not_in_trash: list[Any]


def purge(records: Iterable[Any]) -> PurgeReport:
    """Remove for good the given records in the trash that nothing blocks, with their parts,
    in the session's transaction (commit once afterwards; a failure rolls back all of it).
    A record restored or newly referred to meanwhile makes the flush fail (its version
    moved, or the foreign key holds), so a purge never removes live data."""
    plan = purge_plan(records)
    purged = _referrers_first(plan.ready)
    for item in purged:
        _delete(item)
        # A record and its parts per flush (the unit of work deletes parts first), one
        # record after another: the foreign keys hold at every step.
        db.session.flush()
    return PurgeReport(purged, plan.blocked, plan.not_in_trash)


def restore(records: Iterable[Any]) -> list[Any]:
    """Take the given records out of the trash (their parts come back with them); returns
    those that were in it. The caller commits."""
    restored = [record for record in records if isinstance(record, SoftDeleteMixin) and in_the_trash(record)]
    for record in restored:
        record.restore()
    return restored


def describe_plan(plan: PurgePlan) -> list[str]:
    """The plan as indented text lines (the CLI prints them; the page shows the same tree)."""
    lines: list[str] = []

    def walk(item: PurgeItem, depth: int) -> None:
        lines.append(f"{'  ' * depth}- {type(item.record).__name__} #{item.record.id}: {item.record}")
        for collection, labels in item.links:
            lines.append(f"{'  ' * (depth + 1)}- links to {collection}: {', '.join(labels)} (the {collection} stay)")
        for part in item.parts:
            walk(part, depth + 1)

    for item in plan.ready:
        walk(item, 0)
    for item in plan.blocked:
        lines.append(f"Blocked: {type(item.record).__name__} #{item.record.id} {item.record} is referred to by:")
        for referrers in item.all_referrers():
            names = ", ".join(f"{type(r).__name__} #{r.id}" for r in referrers.shown)
            hidden = referrers.count - len(referrers.shown)
            more = f" and {hidden} more" if hidden else ""
            lines.append(f"  - {referrers.count} × {referrers.model.__name__} ({referrers.via}): {names}{more}")
    for record in plan.not_in_trash:
        lines.append(f"Not in the trash (never purged): {type(record).__name__} #{record.id} {record}")
    return lines


def trash_models() -> dict[str, type]:
    """Models with a trash, by the name the CLI and the admin URLs use (``order``, ``post`` ...)."""
    return {mapper.class_.__name__.lower(): mapper.class_ for mapper in db.Model.registry.mappers
            if issubclass(mapper.class_, SoftDeleteMixin)}


def load_with_trash(model: type, ids: Iterable[int]) -> list[Any]:
    """The records with these ids, in the trash or not (for restore and purge), by id."""
    (primary_key,) = inspect(model).primary_key
    return list(db.session.scalars(select(model).where(primary_key.in_(list(ids))).order_by(primary_key)
                                   .execution_options(include_deleted=True)))
