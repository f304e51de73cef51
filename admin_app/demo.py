"""Realistic, deterministic demo data, from a handful of rows up to bench scale.

Rows are written with Core ``INSERT`` executemany in chunks (not one ORM object per row),
which is what lets a million order items load in well under two minutes. The same seed
gives the same names, amounts and counts; dates are laid out backwards from the start of
the current UTC day so the dashboard always has recent sales to show.

A few product names start with ``=``, ``+``, ``-`` or ``@`` and a few texts carry HTML and
script, so export neutralisation and output escaping are exercised by everyday data.
"""

from __future__ import annotations

import random
from array import array
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import Table, bindparam, func, insert, select, text, update

from admin_app.accounts.models import Address, User, search_key
from admin_app.catalog.models import Category, Product, StockMovement
from admin_app.content.models import Comment, Post, Tag, post_tags
from admin_app.core.models import utcnow
from admin_app.extensions import db
from admin_app.sales.models import CartItem, Order, OrderItem

Progress = Callable[[str, int], None]
CHUNK = 10_000

FIRST_NAMES = (
    "Anna Ben Clara David Emma Felix Greta Hugo Ida Jonas Katrin Lars Mia Noah Olga Paul "
    "Quinn Rosa Sven Tara Uwe Vera Willem Xenia Yusuf Zoe Åsa Émile Jürgen Chloé Zoë Iñigo "
    "Søren Małgorzata Siobhán Björn"
).split()
LAST_NAMES = (
    "Adler Becker Castillo Dubois Eriksen Fischer García Hansen Ivanova Jensen Klein Larsen "
    "Müller Nowak Olsen Petit Quist Rossi Schmidt Tanaka Ueda Vogel Weber Yilmaz Zimmermann "
    "O'Brien Nuñez Łukasiewicz Sørensen D'Angelo"
).split()
CITIES = (
    ("Berlin", "BE", "Germany"), ("München", "BY", "Germany"), ("Hamburg", "HH", "Germany"),
    ("Wien", "W", "Austria"), ("Zürich", "ZH", "Switzerland"), ("Paris", "IDF", "France"),
    ("Lyon", "ARA", "France"), ("København", "H", "Denmark"), ("Malmö", "M", "Sweden"),
    ("Kraków", "MA", "Poland"), ("Amsterdam", "NH", "Netherlands"), ("Madrid", "MD", "Spain"),
)
STREETS = "Hauptstraße Lindenweg Rue de la Paix Gran Vía Bahnhofstraße Kongens Nytorv Damrak Market Street".split(" ")
CATEGORY_TREE = {
    "Electronics": ["Phones", "Laptops", "Audio", "Cameras"],
    "Home & Kitchen": ["Cookware", "Furniture", "Lighting"],
    "Garden": ["Tools", "Plants"],
    "Sports": ["Cycling", "Running", "Camping"],
    "Books": ["Fiction", "Non-fiction", "Children"],
    "Toys": [],
}
ADJECTIVES = ("Classic Compact Deluxe Eco Ergonomic Handmade Lightweight Modern Portable Premium Rustic Smart Sturdy "
              "Vintage Wireless").split()
MATERIALS = "Bamboo Brass Ceramic Cotton Glass Leather Linen Oak Steel Walnut Wool Aluminium".split()
NOUNS = ("Lamp Kettle Chair Backpack Speaker Headphones Notebook Mug Tent Bottle Jacket Clock Desk Pan Blender Bicycle "
         "Drone Vase Rug Watch").split()
HOSTILE_PRODUCT_NAMES = (
    "=HYPERLINK(\"http://example.invalid\",\"Click me\")",
    "+SUM(A1:A9) Gift Card",
    "-2+3 Discount Bundle",
    "@SUM(1+1) Sticker Pack",
)
HOSTILE_TEXT = '<script>alert("xss")</script><b>bold</b> & <img src=x onerror=alert(1)>'
TAG_NAMES = ("news howto review sale gift sustainability behind-the-scenes recipe outdoor tech kids "
             "<em>html</em>").split()
ORDER_STATUS_WEIGHTS = (("delivered", 60), ("shipped", 12), ("paid", 10), ("pending", 10), ("cancelled", 8))
#: Each status as often as its weight: what an order older than ten days is drawn from.
STATUS_DRAW = tuple(status for status, weight in ORDER_STATUS_WEIGHTS for _ in range(weight))


@dataclass(frozen=True)
class DemoSizes:
    customers: int = 200
    products: int = 100
    orders: int = 500
    items_per_order: int = 3
    posts: int = 30

    @classmethod
    def bench(cls) -> DemoSizes:
        return cls(customers=50_000, products=10_000, orders=200_000, items_per_order=5, posts=200)


class DatabaseNotEmpty(RuntimeError):
    """Demo data only goes into an empty database, never on top of real records."""


def database_is_empty() -> bool:
    return db.session.scalar(select(func.count()).select_from(User)) == 0 and (
        db.session.scalar(select(func.count()).select_from(Product)) == 0
    )


def _money(rng: random.Random, low: float, high: float) -> Decimal:
    return Decimal(f"{rng.uniform(low, high):.2f}")


def _chunks(rows: Iterator[dict[str, Any]], size: int = CHUNK) -> Iterator[list[dict[str, Any]]]:
    batch: list[dict[str, Any]] = []
    for row in rows:
        batch.append(row)
        if len(batch) >= size:
            yield batch
            batch = []
    if batch:
        yield batch


def _insert(table: Table, rows: Iterator[dict[str, Any]], label: str, progress: Progress | None) -> int:
    count = 0
    for batch in _chunks(rows):
        db.session.execute(insert(table), batch)
        count += len(batch)
        if progress:
            progress(label, len(batch))
    return count


def _reset_sequences() -> None:
    """Rows were inserted with explicit ids; move PostgreSQL's sequences past them."""
    if db.engine.dialect.name != "postgresql":
        return
    for table in db.metadata.sorted_tables:
        # Integer keys only: a table keyed by text (user_sessions) has no sequence.
        if "id" in table.c and table.c.id.primary_key and table.c.id.type.python_type is int:
            db.session.execute(
                text(
                    f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
                    f"COALESCE((SELECT MAX(id) FROM {table.name}), 0) + 1, false)"
                )
            )


def seed_demo(sizes: DemoSizes | None = None, seed: int = 42, progress: Progress | None = None) -> dict[str, int]:
    """Fill an empty database with demo data and return the number of rows per table."""
    if not database_is_empty():
        raise DatabaseNotEmpty("The database already holds data; demo data goes only into an empty one.")
    demo = _DemoData(sizes or DemoSizes(), random.Random(seed), progress)
    # In this order: each step draws from the one random generator (same seed, same data)
    # and refers to the ids the steps before it wrote.
    demo.categories()
    demo.products()
    demo.customers()
    demo.employees()
    demo.orders()
    demo.stock_ledger()
    demo.carts()
    demo.blog()
    _reset_sequences()
    db.session.commit()
    settle_bulk_load()
    return demo.counts


class _DemoData:
    """The steps of :func:`seed_demo`, sharing the generator, the day and the ids written."""

    def __init__(self, sizes: DemoSizes, rng: random.Random, progress: Progress | None) -> None:
        self.sizes, self.rng, self.progress = sizes, rng, progress
        self.today = datetime.combine(utcnow().date(), time.min, tzinfo=utcnow().tzinfo)
        self.counts: dict[str, int] = {}
        self.leaf_ids: list[int] = []
        self.prices: list[Decimal] = []
        self.addresses_of: list[list[int]] = [[]]
        self.employee_ids: list[int] = []
        self.items_written = 0
        # Stock: each product's final figure, and every order line (product, units, order) in
        # order of date, compact (a million lines at bench scale), for the ledger.
        self.stocks: list[int] = []
        self.line_products, self.line_units, self.line_orders = array("i"), array("i"), array("i")
        self.order_dates: list[datetime] = []
        self.cancelled: set[int] = set()

    def insert(self, name: str, table: Table, rows: Iterator[dict[str, Any]], label: str | None = None) -> None:
        self.counts[name] = _insert(table, rows, label or name, self.progress)

    def categories(self) -> None:
        """A small fixed tree."""
        rows = []
        next_id = 1
        long_ago = self.today - timedelta(days=800)
        for parent_name, children in CATEGORY_TREE.items():
            parent_id = next_id
            rows.append(dict(id=parent_id, name=parent_name, parent_id=None,
                             description=f"Everything in {parent_name.lower()}.",
                             created_at=long_ago, updated_at=long_ago))
            next_id += 1
            if not children:
                self.leaf_ids.append(parent_id)
            for child in children:
                rows.append(dict(id=next_id, name=child, parent_id=parent_id, description=None,
                                 created_at=long_ago, updated_at=long_ago))
                self.leaf_ids.append(next_id)
                next_id += 1
        rows[-1]["description"] = HOSTILE_TEXT
        self.insert("categories", Category.__table__, iter(rows))

    def products(self) -> None:
        self.insert("products", Product.__table__, map(self.product, range(1, self.sizes.products + 1)))

    def product(self, pid: int) -> dict[str, Any]:
        rng = self.rng
        if pid <= len(HOSTILE_PRODUCT_NAMES):
            name = HOSTILE_PRODUCT_NAMES[pid - 1]
        else:
            name = f"{rng.choice(ADJECTIVES)} {rng.choice(MATERIALS)} {rng.choice(NOUNS)}"
        price = _money(rng, 2, 900)
        self.prices.append(price)
        created = self.today - timedelta(days=rng.randint(30, 700), seconds=rng.randint(0, 86_399))
        stock = 0 if rng.random() < 0.06 else rng.choice((rng.randint(1, 9), rng.randint(10, 400)))
        self.stocks.append(stock)
        return dict(id=pid, name=name, sku=f"SKU-{pid:06d}", price=price, stock=stock,
                    category_id=rng.choice(self.leaf_ids),
                    description=HOSTILE_TEXT if pid % 997 == 5 else f"A {name.lower()} for everyday use.",
                    created_at=created, updated_at=created)

    def customers(self) -> None:
        """Customers and their addresses; ids are assigned here so orders can refer to them."""
        address_rows: list[dict[str, Any]] = []
        customers = (self.customer(cid, address_rows) for cid in range(1, self.sizes.customers + 1))
        self.insert("customers", User.__table__, customers)
        self.insert("addresses", Address.__table__, iter(address_rows))

    def customer(self, cid: int, address_rows: list[dict[str, Any]]) -> dict[str, Any]:
        rng = self.rng
        first, last = rng.choice(FIRST_NAMES), rng.choice(LAST_NAMES)
        username = f"{first}.{last}{cid}".lower().replace("'", "").replace(" ", "")
        created = self.today - timedelta(days=rng.randint(0, 730), seconds=rng.randint(0, 86_399))
        own = []
        for n in range(1 if rng.random() < 0.7 else 2):
            address_id = len(address_rows) + 1
            city, state, country = rng.choice(CITIES)
            address_rows.append(dict(id=address_id, user_id=cid,
                                     street=f"{rng.choice(STREETS)} {rng.randint(1, 200)}",
                                     city=city, state=state, zip_code=f"{rng.randint(1000, 99999):05d}",
                                     country=country, is_default=n == 0, created_at=created, updated_at=created))
            own.append(address_id)
        self.addresses_of.append(own)
        row = dict(id=cid, type="customer", username=username, email=f"{username}@example.com",
                   password_hash=None, first_name=first if cid % 50 else None,
                   last_name=last if cid % 50 else None, preferences={},
                   loyalty_points=rng.randint(0, 5_000), created_at=created, updated_at=created)
        return row | {"search_key": search_key(row)}  # a bulk insert passes no ORM event

    def employees(self) -> None:
        """A few employees write the blog; they have no password, so they cannot log in."""
        rows = []
        long_ago = self.today - timedelta(days=900)
        for n, (first, last, role) in enumerate((("Paula", "Editor", "staff"), ("Marc", "Writer", "staff"),
                                                 ("Vic", "Viewer", "viewer"))):
            eid = self.sizes.customers + 1 + n
            self.employee_ids.append(eid)
            username = f"{first}.{last}".lower()
            row = dict(id=eid, type="employee", username=username, email=f"{username}@shop.example",
                       password_hash=None, first_name=first, last_name=last, preferences={},
                       role=role, is_active=True, department="Content",
                       created_at=long_ago, updated_at=long_ago)
            rows.append(row | {"search_key": search_key(row)})
        self.insert("employees", User.__table__, iter(rows))

    def orders(self) -> None:
        """Orders and their items, oldest first so ids follow dates; each batch of orders is
        written before its items."""
        rng = self.rng
        order_dates = sorted(self.today + timedelta(hours=12) - timedelta(seconds=rng.randint(0, 365 * 86_400))
                             for _ in range(self.sizes.orders))
        item_rows: list[dict[str, Any]] = []
        self.order_dates = order_dates
        orders = (self.order(oid, when, item_rows) for oid, when in enumerate(order_dates, start=1))
        self.counts["orders"] = self.counts["order_items"] = 0
        for batch in _chunks(orders):
            self.counts["orders"] += _insert(Order.__table__, iter(batch), "orders", self.progress)
            self.counts["order_items"] += _insert(OrderItem.__table__, iter(item_rows), "order items", self.progress)
            item_rows.clear()

    def order(self, oid: int, when: datetime, item_rows: list[dict[str, Any]]) -> dict[str, Any]:
        rng, sizes = self.rng, self.sizes
        cid = rng.randint(1, sizes.customers)
        recent = self.today - when <= timedelta(days=10)
        status = rng.choice(("pending", "paid", "shipped")) if recent else rng.choice(STATUS_DRAW)
        count = rng.randint(1, 2 * sizes.items_per_order - 1)
        subtotal = Decimal("0.00")
        for pid in rng.sample(range(1, sizes.products + 1), min(count, sizes.products)):
            quantity = rng.choice((1, 1, 1, 2, 2, 3))
            subtotal += self.prices[pid - 1] * quantity
            self.items_written += 1
            item_rows.append(dict(id=self.items_written, order_id=oid, product_id=pid,
                                  quantity=quantity, price=self.prices[pid - 1]))
            self.line_products.append(pid)
            self.line_units.append(quantity)
            self.line_orders.append(oid)
        if status == "cancelled":
            self.cancelled.add(oid)
        return dict(id=oid, user_id=cid, address_id=rng.choice(self.addresses_of[cid]), order_date=when,
                    status=status, shipping_fee=Decimal("0.00") if rng.random() < 0.3 else Decimal("4.95"),
                    items_subtotal=subtotal,
                    notes=HOSTILE_TEXT if oid % 5000 == 7 else None, created_at=when, updated_at=when)

    def stock_ledger(self) -> None:
        """The ledger behind the stock figures (Core rows, as everything here; no history
        entries): each product's opening balance, enough for its final stock and every unit
        its live orders hold, then each order line's sale, and for a cancelled order the units
        coming back, at the order's date. ``check-stock`` holds on a fresh demo."""
        held = [0] * (len(self.stocks) + 1)
        # A cancelled order's units are out of stock from its sale to its cancellation: the
        # stock then must have held them too, beside everything the live orders hold.
        spare = [0] * (len(self.stocks) + 1)
        for pid, units, oid in zip(self.line_products, self.line_units, self.line_orders, strict=True):
            if oid in self.cancelled:
                spare[pid] = max(spare[pid], units)
            else:
                held[pid] += units
        raised = [dict(pid=pid, new_stock=stock + spare[pid]) for pid, stock in enumerate(self.stocks, start=1)
                  if spare[pid]]
        if raised:
            products = Product.__table__
            db.session.execute(update(products).where(products.c.id == bindparam("pid"))
                               .values(stock=bindparam("new_stock")), raised)
        balance = [0, *(stock + spare[pid] + held[pid] for pid, stock in enumerate(self.stocks, start=1))]
        system = dict(actor_id=None, actor_label="system", note=None)
        opened = self.today - timedelta(days=800)
        opening = (dict(product_id=pid, quantity=balance[pid], balance=balance[pid], reason="opening_balance",
                        order_id=None, order_number=None, created_at=opened, **system)
                   for pid in range(1, len(self.stocks) + 1) if balance[pid])

        def sales() -> Iterator[dict[str, Any]]:
            for pid, units, oid in zip(self.line_products, self.line_units, self.line_orders, strict=True):
                when = self.order_dates[oid - 1]
                balance[pid] -= units
                yield dict(product_id=pid, quantity=-units, balance=balance[pid], reason="order_placed",
                           order_id=oid, order_number=str(oid), created_at=when, **system)
                if oid in self.cancelled:
                    balance[pid] += units
                    yield dict(product_id=pid, quantity=units, balance=balance[pid], reason="order_cancelled",
                               order_id=oid, order_number=str(oid), created_at=when + timedelta(hours=1), **system)

        self.insert("stock_movements", StockMovement.__table__, opening, "stock movements")
        self.counts["stock_movements"] += _insert(StockMovement.__table__, sales(), "stock movements", self.progress)

    def carts(self) -> None:
        """A few open carts."""
        rng, sizes = self.rng, self.sizes
        rows = (dict(user_id=cid, product_id=pid, quantity=rng.randint(1, 3),
                     added_at=self.today - timedelta(minutes=rng.randint(0, 30 * 24 * 60)))
                for cid in range(1, sizes.customers + 1, 7)
                for pid in rng.sample(range(1, sizes.products + 1), min(2, sizes.products)))
        self.insert("cart_items", CartItem.__table__, rows, "cart items")

    def blog(self) -> None:
        tag_rows = [dict(id=i, name=name) for i, name in enumerate(TAG_NAMES, start=1)]
        self.insert("tags", Tag.__table__, iter(tag_rows))
        link_rows: list[dict[str, Any]] = []
        comment_rows: list[dict[str, Any]] = []
        post_rows = [self.post(post_id, link_rows, comment_rows) for post_id in range(1, self.sizes.posts + 1)]
        self.insert("posts", Post.__table__, iter(post_rows))
        self.insert("post_tags", post_tags, iter(link_rows), "post tags")
        self.insert("comments", Comment.__table__, iter(comment_rows))

    def post(self, post_id: int, link_rows: list[dict[str, Any]], comment_rows: list[dict[str, Any]]) -> dict[str, Any]:
        rng = self.rng
        status = rng.choice(("published", "published", "published", "draft", "archived"))
        created = self.today - timedelta(days=rng.randint(0, 400), seconds=rng.randint(0, 86_399))
        title = f"{rng.choice(ADJECTIVES)} ideas for your {rng.choice(NOUNS).lower()}"
        if post_id == 3:
            title = '<script>alert("post")</script> Summer sale'
        row = dict(id=post_id, title=title, content=(HOSTILE_TEXT if post_id % 10 == 3 else
                   "Our team picked a few favourites this season. ") * 3,
                   status=status, published_at=created if status != "draft" else None,
                   author_id=rng.choice(self.employee_ids), category_id=rng.choice(self.leaf_ids),
                   created_at=created, updated_at=created)
        for tag_id in rng.sample(range(1, len(TAG_NAMES) + 1), 3):
            link_rows.append(dict(post_id=post_id, tag_id=tag_id))
        if status == "published":
            comment_rows.extend(self.comment(post_id, created) for _ in range(rng.randint(0, 4)))
        return row

    def comment(self, post_id: int, created: datetime) -> dict[str, Any]:
        rng = self.rng
        author = rng.randint(1, self.sizes.customers)
        return dict(post_id=post_id, user_id=author, author_name=f"Customer {author}",
                    body=HOSTILE_TEXT if rng.random() < 0.05 else "Great read, thanks!",
                    is_approved=rng.random() < 0.8,
                    created_at=created + timedelta(hours=rng.randint(1, 200)),
                    updated_at=created + timedelta(hours=rng.randint(1, 200)))


def settle_bulk_load() -> None:
    """What the database would do on its own some time after a bulk load, done now, so
    the lists are fast from the first request on: fresh planner statistics (``ANALYZE``)
    and, on PostgreSQL, a ``VACUUM`` that marks the new pages all-visible. Until then an
    index-only scan still reads the table for every row it steps over (figures in
    bench/README.md, "Figures behind the code")."""
    if db.engine.dialect.name != "postgresql":
        db.session.execute(text("ANALYZE"))
        db.session.commit()
        return
    tables = ", ".join(db.engine.dialect.identifier_preparer.format_table(table)
                       for table in db.metadata.sorted_tables)
    # VACUUM cannot run inside a transaction block.
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text(f"VACUUM (ANALYZE) {tables}"))


def total_rows(sizes: DemoSizes) -> int:
    """An estimate of the rows :func:`seed_demo` writes, for sizing a progress bar."""
    # products and their opening balances, customers and addresses, orders, their items and sales
    return 2 * sizes.products + int(sizes.customers * 2.3) + sizes.orders * (1 + 2 * sizes.items_per_order)
