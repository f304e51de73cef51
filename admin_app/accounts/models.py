"""People: shop customers and back-office employees (one ``users`` table), addresses, and
the employees' signed-in sessions.

A customer and their addresses are one whole: an address is a part of its customer
(``Address.__whole__``), so changing it moves the customer's version and shows in the
customer's history. A customer has at most one default address (a partial unique index),
and choosing a new one unsets the old one in the same flush (:func:`_one_default_address`).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from flask import current_app, has_app_context
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import UserMixin
from sqlalchemy import (
    Boolean,
    CheckConstraint,
    ForeignKey,
    Index,
    Integer,
    String,
    and_,
    case,
    delete,
    event,
    func,
    inspect,
    select,
    text,
    update,
)
from sqlalchemy.ext.hybrid import hybrid_property
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship
from sqlalchemy.sql.elements import ColumnElement
from werkzeug.security import check_password_hash, generate_password_hash

from admin_app.core.models import (
    PARTS,
    DataRuleError,
    MutableJSONDict,
    SoftDeleteMixin,
    TimestampMixin,
    UTCDateTime,
    VersionedMixin,
    deleted_index,
    live_index,
    utcnow,
)
from admin_app.core.search import NORMALISED, normalise
from admin_app.core.security import ROLES
from admin_app.extensions import db

if TYPE_CHECKING:
    from admin_app.content.models import Post
    from admin_app.sales.models import CartItem, Order

USER_TYPES = ("customer", "employee")


class User(TimestampMixin, VersionedMixin, db.Model):
    """Anyone with an account; the ``type`` column tells customers from employees."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    type: Mapped[str] = mapped_column(String(20), nullable=False)
    username: Mapped[str] = mapped_column(String(50), nullable=False)
    email: Mapped[str] = mapped_column(String(120), nullable=False)
    # Nullable: customers added by staff have no password until they set one in the shop.
    password_hash: Mapped[str | None] = mapped_column(String(255))
    first_name: Mapped[str | None] = mapped_column(String(50))
    last_name: Mapped[str | None] = mapped_column(String(50))
    # What the lists search a person by: names, username and email normalised (core.search), kept
    # by :func:`_keep_search_key` for the ORM and by :func:`search_key` in bulk writes.
    search_key: Mapped[str] = mapped_column(String(300), nullable=False, server_default="",
                                            info={"search": NORMALISED})
    # ``default=dict`` is called per row: no dict shared between users. Deferred: only the
    # signed-in employee's are needed (loaded with them, see accounts.auth.session), and lists that
    # show customers would otherwise decode and track a dict per row.
    preferences: Mapped[dict[str, Any]] = mapped_column(
        MutableJSONDict, default=dict, nullable=False, deferred=True
    )

    # Declaring mapper args replaces VersionedMixin's, so the version column is named here;
    # Customer and Employee inherit it from this mapper.
    __mapper_args__ = {"polymorphic_on": "type", "polymorphic_abstract": True,
                       "version_id_col": VersionedMixin.version_id}
    __table_args__ = (
        # Case-insensitive uniqueness: "Alice" and "alice" are the same login.
        Index("uq_users_username_lower", func.lower(username), unique=True),
        Index("uq_users_email_lower", func.lower(email), unique=True),
        CheckConstraint(f"type IN {USER_TYPES!r}", name="type_allowed"),
        CheckConstraint(f"role IS NULL OR role IN {ROLES!r}", name="role_allowed"),
        CheckConstraint("loyalty_points IS NULL OR loyalty_points >= 0", name="loyalty_points_non_negative"),
        Index("ix_users_type_created_at", "type", "created_at"),
        Index("ix_users_search_key", "search_key"),
    )

    def set_password(self, password: str) -> None:
        method = "scrypt"
        if has_app_context():
            method = current_app.config.get("PASSWORD_HASH_METHOD", method)
        self.password_hash = generate_password_hash(password, method=method)

    def check_password(self, password: str) -> bool:
        if not self.password_hash:
            return False
        return check_password_hash(self.password_hash, password)

    @hybrid_property
    def full_name(self) -> str:
        if self.first_name and self.last_name:
            return f"{self.first_name} {self.last_name}"
        return self.username

    @full_name.inplace.expression
    @classmethod
    def _full_name_expression(cls) -> ColumnElement[str]:
        has_both = and_(
            func.coalesce(cls.first_name, "") != "", func.coalesce(cls.last_name, "") != ""
        )
        return case((has_both, cls.first_name + " " + cls.last_name), else_=cls.username)

    def __str__(self) -> str:
        return self.full_name

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.id} {self.username!r}>"


SEARCHED_FIELDS = ("first_name", "last_name", "username", "email")


def search_key(values: Any) -> str:
    """``users.search_key`` of a person given as a mapping (a bulk row) or a ``User``."""
    get = values.get if isinstance(values, dict) else lambda name: getattr(values, name)
    return normalise(*(get(name) for name in SEARCHED_FIELDS))


@event.listens_for(Session, "before_flush")
def _keep_search_key(session: Session, flush_context: Any, instances: Any) -> None:
    """Every ORM write of a person (form, CLI, plain code) keeps their search key current."""
    for record in (*session.new, *session.dirty):
        if isinstance(record, User):
            key = search_key(record)
            if record.search_key != key:
                record.search_key = key


@event.listens_for(User, "before_insert", propagate=True)
def _lowercase_email_on_insert(mapper: Any, connection: Any, target: User) -> None:
    if target.email:
        target.email = target.email.strip().lower()


@event.listens_for(User.email, "set", retval=True, propagate=True)
def _lowercase_email_on_set(target: User, value: str | None, oldvalue: Any, initiator: Any) -> str | None:
    return value.strip().lower() if isinstance(value, str) else value


class Customer(SoftDeleteMixin, User):
    """A shop customer: orders, addresses and a cart. Never logs in to the back office."""

    loyalty_points: Mapped[int | None] = mapped_column(Integer, default=0)

    addresses: Mapped[list[Address]] = relationship(
        back_populates="user", cascade="all, delete-orphan", order_by="Address.id", info=PARTS
    )
    orders: Mapped[list[Order]] = relationship(back_populates="user", order_by="Order.order_date.desc()",
                                               passive_deletes="all")
    cart_items: Mapped[list[CartItem]] = relationship(
        back_populates="user", cascade="all, delete-orphan", info=PARTS
    )

    __mapper_args__ = {"polymorphic_identity": "customer"}
    kind_label = _l("Customer")  # what staff call one, in their language


# The customer list, newest first: live customers, and deleted ones. Declared here because ``deleted_at``
# belongs to Customer (single-table inheritance puts it on the shared ``users`` table).
live_index("ix_users_type_live_created_at", User.type, User.created_at, User.id)
deleted_index("ix_users_type_deleted_created_at", User.type, User.created_at, User.id)


class Employee(UserMixin, User):
    """A back-office account with a role; the only kind of user that can sign in."""

    role: Mapped[str | None] = mapped_column(String(20), default="viewer")
    is_active: Mapped[bool | None] = mapped_column(Boolean, default=True)
    department: Mapped[str | None] = mapped_column(String(50))

    posts: Mapped[list[Post]] = relationship(back_populates="author", passive_deletes="all")

    __mapper_args__ = {"polymorphic_identity": "employee"}
    kind_label = _l("Employee")  # what staff call one, in their language

    #: The key of the browser session this object was signed in through (see
    #: :mod:`admin_app.accounts.auth.session`); not a column.
    session_key = None

    def get_id(self) -> str:
        """What Flask-Login keeps in the session cookie: the key of this browser's session
        record, not the employee's id, so deleting the record ends the session. Without
        one (signed in by a test's ``login_user``) it is a key no record has."""
        return self.session_key or ""


class Address(TimestampMixin, VersionedMixin, db.Model):
    __tablename__ = "addresses"
    kind_label = _l("Address")  # what staff call one, in their language

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True, nullable=False)
    street: Mapped[str] = mapped_column(String(100), nullable=False)
    city: Mapped[str] = mapped_column(String(50), nullable=False)
    state: Mapped[str] = mapped_column(String(50), nullable=False, default="")
    zip_code: Mapped[str] = mapped_column(String(10), nullable=False)
    country: Mapped[str] = mapped_column(String(50), nullable=False)
    is_default: Mapped[bool] = mapped_column(Boolean, default=False, nullable=False)

    user: Mapped[Customer] = relationship(back_populates="addresses")
    orders: Mapped[list[Order]] = relationship(back_populates="address", passive_deletes="all")

    # Part of its customer: see ``core.models._one_version_per_whole``.
    __whole__ = "user"

    __table_args__ = (
        # One default address per customer, on both databases: a second one fails here even
        # when two saves race (the ORM unsets the old default first, _one_default_address).
        Index("uq_addresses_user_id_default", "user_id", unique=True,
              sqlite_where=text("is_default"), postgresql_where=text("is_default")),
    )

    def __str__(self) -> str:
        return f"{self.street}, {self.zip_code} {self.city}, {self.country}"

    def __repr__(self) -> str:
        return f"<Address {self.id} {self.city!r}>"


class UserSession(db.Model):
    """One signed-in browser of an employee: created at sign-in, deleted at sign-out, read
    with the employee on every request (see :mod:`admin_app.accounts.auth.session`). The cookie
    holds a random key; the table holds only its SHA-256, so reading the table gives no one
    a session."""

    __tablename__ = "user_sessions"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True, nullable=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False)
    # Written at most once a minute; sessions idle past PERMANENT_SESSION_LIFETIME end.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, nullable=False, index=True)
    ip_address: Mapped[str | None] = mapped_column(String(45))
    user_agent: Mapped[str | None] = mapped_column(String(200))

    def __repr__(self) -> str:
        return f"<UserSession of user {self.user_id} since {self.created_at:%Y-%m-%d %H:%M}>"


@event.listens_for(Employee, "after_update")
def _end_sessions_on_password_change_or_deactivation(mapper: Any, connection: Any, target: Employee) -> None:
    """A new password or a deactivation signs the employee out everywhere, whatever path
    made the change (a form, a bulk action, the CLI, plain ORM code), in the same
    transaction. "My account" starts a new session for the browser that made the change."""
    state = inspect(target)
    deactivated = state.attrs.is_active.history.has_changes() and not target.is_active
    if deactivated or state.attrs.password_hash.history.has_changes():
        connection.execute(delete(UserSession.__table__).where(UserSession.user_id == target.id))


def _newly_default(address: Address) -> bool:
    """Whether this flush makes ``address`` its customer's default: a new default address,
    one ticked as default, or a default address moved to another customer."""
    if not address.is_default:
        return False
    state = inspect(address)
    if state.key is None:
        return True
    return any(state.attrs[key].history.added for key in ("is_default", "user", "user_id"))


@event.listens_for(Session, "before_flush")
def _one_default_address(session: Session, flush_context: Any, instances: Any) -> None:
    """Choosing a customer's default address unsets the one they had, in the same flush, on
    every path (the customer's form, the Addresses page, code). Two addresses of one customer
    chosen as default in the same flush are refused: which one was meant is not known."""
    deleted = set(session.deleted)
    for owner, addresses in _chosen_defaults(session, deleted).items():
        if len(addresses) > 1:
            raise DataRuleError(_("%(customer)s can have only one default address: tick one of %(addresses)s.",
                                  customer=owner, addresses=", ".join(str(a) for a in addresses)), field="is_default")
        if owner.id is not None:  # a new customer: no address of theirs is stored yet
            _unset_stored_defaults(session, owner, addresses[0], deleted)


def _chosen_defaults(session: Session, deleted: set[Any]) -> dict[Customer, list[Address]]:
    """The addresses this flush makes a default, by customer."""
    chosen: dict[Customer, list[Address]] = {}
    for address in (*session.new, *session.dirty):
        if isinstance(address, Address) and address not in deleted and _newly_default(address):
            owner = address.user or (session.get(Customer, address.user_id) if address.user_id else None)
            if owner is not None:
                chosen.setdefault(owner, []).append(address)
    return chosen


def _unset_stored_defaults(session: Session, owner: Customer, chosen: Address, deleted: set[Any]) -> None:
    """The customer's other stored default is unticked in the same flush."""
    stored_defaults = session.scalars(
        select(Address).where(Address.user_id == owner.id, Address.is_default.is_(True)))
    for other in stored_defaults:
        # In the session, ``other`` keeps any change not yet written (already unticked).
        if other is not chosen and other not in deleted and other.is_default:
            other.is_default = False


@event.listens_for(Address, "before_insert")
@event.listens_for(Address, "before_update")
def _make_room_for_a_new_default(mapper: Any, connection: Any, target: Address) -> None:
    """The unique index allows one default per customer after every statement, and the flush
    writes addresses in primary-key order, perhaps the new default before the old one's
    unsetting. So the old default is cleared first, here; its own UPDATE (version check,
    history entry) still follows, from :func:`_one_default_address`."""
    if not _newly_default(target):
        return
    table = Address.__table__
    condition = [table.c.user_id == target.user_id, table.c.is_default]
    if target.id is not None:
        condition.append(table.c.id != target.id)
    connection.execute(update(table).where(*condition).values(is_default=False))
