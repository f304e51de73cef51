#!/usr/bin/env python
"""Load test of the back office: N staff members at once, then a check of the database.

Prepares a database with the project's own CLI (``db upgrade``, a moderate ``seed-demo``,
``create-user loadN --role staff``), serves the app with gunicorn (``gunicorn.conf.py``,
4 sync workers, login throttling in Redis), signs every simulated staff member in once
through ``/login`` and lets them work for a bounded time (lists, searches, order edits with
inline items, price edits, soft delete and restore, status bulk actions, CSV exports,
dashboard, and staff racing to sell the last few units of a handful of products). Every
request is recorded; every write the app acknowledged (a 302 followed by
its success message) is recorded with what it should have done. After gunicorn is stopped
the database is read directly and compared with those acknowledgements (see
``bench/README.md``, "Load test", for the rules).

    python bench/load.py                                   # SQLite: bench/data/load.db, rebuilt
    python bench/load.py --database-url postgresql://postgres@127.0.0.1:5432/load
    python bench/load.py --staff 8 --duration 60 --workers 4

Prints a report; exit status 0 only with no errors (5xx, unexpected 4xx, broken
connections) and nothing lost or inconsistent in the database. Loopback traffic only.
"""

from __future__ import annotations

import argparse
import html
import json
import os
import random
import re
import secrets
import signal
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

import run as bench  # noqa: E402 - bench/run.py: client, server, database helpers (it adds ROOT to sys.path)
from run import ROOT, Client, free_port, manage, percentile, resolve_database_url, say  # noqa: E402

from tests.conftest import read_form  # noqa: E402 - the suite's "what a browser would post"

DEFAULT_DB = "sqlite:///bench/data/load.db"
PASSWORD = "load-password-not-secret"  # throwaway load-test accounts only
REDIS_URI = "redis://127.0.0.1:6379"
CLIENT_TIMEOUT = 60.0
THINK_SECONDS = (0.05, 0.6)  # between opening a form and saving it: where concurrent edits collide
ORDER_STATUSES = ("pending", "paid", "shipped", "delivered", "cancelled")
TRANSITIONS = {"pending": ("paid", "cancelled"), "paid": ("shipped", "cancelled"), "shipped": ("delivered",),
               "delivered": (), "cancelled": ()}
ACTION_FOR = {"paid": "mark_paid", "shipped": "mark_shipped", "delivered": "mark_delivered", "cancelled": "cancel"}
HOT_PRODUCTS, HOT_ORDERS = 15, 25  # most price edits / order edits hit these, so edits collide
AUDIT_SLACK = timedelta(seconds=2)  # same machine clock; allowance around [sent, acknowledged]

# Weighted mix of what a staff member does next.
MIX = (
    ("order_list", 18), ("order_search", 10), ("product_list", 9), ("order_edit", 16), ("price_edit", 14),
    ("delete_restore", 8), ("status_action", 10), ("csv_export", 4), ("dashboard", 6),
    ("product_create", 2), ("order_create", 3), ("last_units", 8),
)
SCARCE_PRODUCTS, SCARCE_UNITS = 4, 3  # every member sells these: a few units, many buyers

# The flashed messages (the page frame gives each ``role="alert"`` after its classes).
ALERT = re.compile(r'<div class="alert alert-(\w+)[^"]*"[^>]*>\s*(?:<button[^>]*>.*?</button>)?(.*?)</div>', re.S)
TAG = re.compile(r"<[^>]+>")


def reachable(current: str, target: str) -> bool:
    """Whether the workflow leads from ``current`` to ``target`` in one or more steps."""
    frontier, seen = [current], set()
    while frontier:
        state = frontier.pop()
        for nxt in TRANSITIONS[state]:
            if nxt == target:
                return True
            if nxt not in seen:
                seen.add(nxt)
                frontier.append(nxt)
    return False


def workflow_path(start: str, targets: set[str]) -> list[str] | None:
    """The order in which single workflow steps from ``start`` visit exactly ``targets``."""
    if not targets:
        return []
    for nxt in TRANSITIONS[start]:
        if nxt in targets:
            rest = workflow_path(nxt, targets - {nxt})
            if rest is not None:
                return [nxt, *rest]
    return None


def alerts(body: bytes) -> list[tuple[str, str]]:
    text = body.decode("utf-8", "replace")
    return [(cat, " ".join(html.unescape(TAG.sub("", msg)).split())) for cat, msg in ALERT.findall(text)]


def money(value: Any) -> Decimal:
    """A Numeric(10, 2) value as read with plain SQL (SQLite hands back floats)."""
    return Decimal(str(value)).quantize(Decimal("0.01"))


def utc(t: float) -> datetime:
    return datetime.fromtimestamp(t, UTC)


# --------------------------------------------------------------------------- records


@dataclass
class Req:
    kind: str
    method: str
    path: str
    status: int | None
    ms: float
    user: str
    request_id: str
    error: str = ""  # why it counts as an error ("" = not an error)
    expected: str = ""  # an expected non-2xx/3xx answer (e.g. 410 for a deleted record)
    excerpt: str = ""


@dataclass
class Write:
    """An acknowledged write and what it should have done."""

    kind: str  # price | delete | restore | order_edit | status | product_create | order_create
    user: str
    sent: float
    acked: float
    entity: str  # "Product" | "Order"
    entity_id: int
    loaded_version: int | None = None
    data: dict[str, Any] = field(default_factory=dict)


@dataclass
class Outcome:
    """A write that was refused (or whose outcome is unknown)."""

    kind: str
    result: str  # refused_stale, refused_stale_flush, refused_validation, refused_error, refused_workflow, unknown
    user: str
    entity_id: int | None
    detail: str = ""


class Journal:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.requests: list[Req] = []
        self.writes: list[Write] = []
        self.outcomes: list[Outcome] = []

    def req(self, r: Req) -> None:
        with self.lock:
            self.requests.append(r)

    def write(self, w: Write) -> None:
        with self.lock:
            self.writes.append(w)

    def outcome(self, o: Outcome) -> None:
        with self.lock:
            self.outcomes.append(o)


# --------------------------------------------------------------------------- database


def prepare_database(url: str, env: dict[str, str], args: argparse.Namespace) -> None:
    if bench.db_kind(url) == "sqlite":
        bench.prepare_sqlite(url, reuse=False)
    else:
        name = bench.pg_parts(url)["database"]
        if name.lower() == "test":
            raise SystemExit("refusing the database named 'test'")
        bench.prepare_postgresql(url, reuse=False)  # drops and creates it (refuses test*)
    say("python manage.py db upgrade")
    done = manage(["db", "upgrade"], env, check=False)
    if done.returncode:
        raise SystemExit("db upgrade failed:\n" + done.stdout + done.stderr)
    sizes = ["--customers", str(args.customers), "--products", str(args.products), "--orders", str(args.orders)]
    say("python manage.py seed-demo " + " ".join(sizes))
    done = manage(["seed-demo", *sizes], env, check=False)
    if done.returncode:
        raise SystemExit("seed-demo failed:\n" + done.stdout + done.stderr)
    say("  " + done.stdout.strip())
    if bench.db_kind(url) == "postgresql":
        bench.psql(url, "ANALYZE", database=bench.pg_parts(url)["database"])
    for n in range(1, args.staff + 1):
        done = manage(["create-user", f"load{n}", "--email", f"load{n}@shop.example", "--role", "staff",
                       "--password-stdin"], env, stdin=PASSWORD + "\n", check=False)
        if done.returncode:
            raise SystemExit(f"create-user load{n} failed:\n" + done.stdout + done.stderr)
    say(f"  created {args.staff} staff accounts load1..load{args.staff}")


def engine_for(url: str) -> Any:
    from sqlalchemy import create_engine

    return create_engine(bench.sqlalchemy_url(url))


def snapshot(url: str) -> dict[str, Any]:
    """What the database holds: products, orders, items (the baseline, and the final state)."""
    from sqlalchemy import text

    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            products = {r.id: {"price": money(r.price), "stock": r.stock, "deleted": r.deleted_at is not None,
                               "version": r.version_id, "name": r.name}
                        for r in conn.execute(
                            text("SELECT id, name, price, stock, deleted_at, version_id FROM products"))}
            orders = {r.id: {"status": r.status, "deleted": r.deleted_at is not None, "version": r.version_id,
                             "user_id": r.user_id}
                      for r in conn.execute(text("SELECT id, status, deleted_at, version_id, user_id FROM orders"))}
            items: dict[int, list[tuple[int, int, int, Decimal]]] = defaultdict(list)
            for r in conn.execute(
                    text("SELECT id, order_id, product_id, quantity, price FROM order_items ORDER BY id")):
                items[r.order_id].append((r.id, r.product_id, r.quantity, money(r.price)))
            return {"products": products, "orders": orders, "items": dict(items)}
    finally:
        engine.dispose()


def picks(url: str) -> dict[str, Any]:
    from sqlalchemy import text

    engine = engine_for(url)
    try:
        with engine.connect() as conn:
            customers = [(r.id, r.username, r.address_id) for r in conn.execute(text(
                "SELECT u.id, u.username, min(a.id) AS address_id FROM users u JOIN addresses a ON a.user_id = u.id "
                "WHERE u.type = 'customer' AND u.deleted_at IS NULL "
                "GROUP BY u.id, u.username ORDER BY u.id"))]
    finally:
        engine.dispose()
    return {"customers": customers}


# --------------------------------------------------------------------------- the server


class LoadServer(bench.Server):
    """gunicorn as in production: ``gunicorn.conf.py``, N sync workers, the plain app."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path, workers: int) -> None:
        super().__init__(env, port, log_path)
        self.workers = workers

    def start(self) -> None:
        self.log = open(self.log_path, "wb")  # closed in stop()
        command = [sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py", "-w", str(self.workers),
                   "-b", f"127.0.0.1:{self.port}", "admin_app:create_app()"]
        say("$ " + " ".join(command[2:]))
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self.wait_ready()
        deadline = time.monotonic() + 60
        while len(bench.children_of(self.process.pid)) < self.workers and time.monotonic() < deadline:
            time.sleep(0.2)

    def stop(self) -> None:
        if self.process is None:
            return
        bench.stop_gunicorn(self.process, bench.children_of(self.process.pid), grace_seconds=40)
        self.process = None
        self.log.close()


# --------------------------------------------------------------------------- a staff member


class Staff(threading.Thread):
    def __init__(self, index: int, port: int, journal: Journal, deadline: float, shared: dict[str, Any],
                 seed: int) -> None:
        super().__init__(name=f"load{index}", daemon=True)
        self.index, self.user = index, f"load{index}"
        self.client = Client(port, CLIENT_TIMEOUT)
        self.journal, self.deadline, self.shared = journal, deadline, shared
        self.rng = random.Random(seed * 1000 + index)
        self.seq = 0
        self.csrf = ""
        # Products whose soft delete and restore only this member does: their state is known.
        self.own = {pid: False for pid in shared["delete_pools"][index - 1]}
        self.created = 0

    # -- HTTP ---------------------------------------------------------------------------

    def call(self, kind: str, method: str, path: str, form: dict[str, Any] | list[tuple[str, Any]] | None = None,
             keep_body: bool = True, expect: tuple[int, ...] = (200,), expected_other: dict[int, str] | None = None
             ) -> bench.Reply | None:
        self.seq += 1
        request_id = f"load-u{self.index}-{self.seq:06d}"
        headers = {"X-Request-ID": request_id}
        body = None
        if form is not None:
            body = urlencode(form, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        started = time.perf_counter()
        try:
            reply = self.client.request(method, path, body=body, headers=headers, keep_body=keep_body)
        except Exception as exc:  # timeouts, resets, truncated streams: all errors
            ms = (time.perf_counter() - started) * 1000
            self.journal.req(Req(kind, method, path, None, ms, self.user, request_id,
                                 error=f"{type(exc).__name__}: {exc}"[:200]))
            return None
        r = Req(kind, method, path, reply.status, reply.seconds * 1000, self.user, request_id)
        location = reply.headers.get("Location") or ""
        if reply.status in expect:
            if reply.status == 302 and "/login" in location:
                r.error = "redirected to /login (session lost)"
        elif expected_other and reply.status in expected_other:
            r.expected = expected_other[reply.status]
        else:
            r.error = f"HTTP {reply.status}" + (f" -> {location}" if location else "")
            text = reply.body.decode("utf-8", "replace") if reply.body else ""
            r.excerpt = " ".join(TAG.sub(" ", text).split())[:300]
        self.journal.req(r)
        if reply.body:
            self._remember_csrf(reply.body)
        return reply

    def _remember_csrf(self, body: bytes) -> None:
        match = re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body)
        if match:
            self.csrf = match.group(1).decode()

    def follow(self, kind: str, reply: bench.Reply) -> list[tuple[str, str]]:
        """GET the page a 302 points to, as a browser does; the flashed messages on it."""
        location = reply.headers.get("Location") or ""
        parts = urlsplit(location)
        path = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        page = self.call(kind + " (redirect)", "GET", path)
        return alerts(page.body) if page is not None and page.status == 200 else []

    # -- the session ---------------------------------------------------------------------

    def login(self) -> None:
        started = time.perf_counter()
        self.client.login(self.user, PASSWORD)  # bench/run.py: GET /login, POST with CSRF, GET /admin/
        self.journal.req(Req("login (GET+POST+GET)", "POST", "/login", 302, (time.perf_counter() - started) * 1000,
                             self.user, "-"))
        page = self.call("dashboard", "GET", "/admin/")
        if page is None or page.status != 200:
            raise SystemExit(f"{self.user}: dashboard after sign-in failed")
        if not self.shared.get("status_filters"):
            found = dict((m.group(2), html.unescape(m.group(1))) for m in re.finditer(
                r'href="(/admin/order/\?flt\d+_[^"=]+=(\w+))"', page.body.decode()))
            self.shared["status_filters"] = found

    def run(self) -> None:
        names = [name for name, _ in MIX]
        weights = [w for _, w in MIX]
        while time.monotonic() < self.deadline:
            scenario = self.rng.choices(names, weights)[0]
            try:
                getattr(self, scenario)()
            except Exception as exc:  # a bug in the simulation must not stop the run silently
                self.journal.req(Req(scenario, "-", "-", None, 0.0, self.user, "-",
                                     error=f"client-side {type(exc).__name__}: {exc}"[:200]))
            time.sleep(self.rng.uniform(0.0, 0.05))

    # -- reading ------------------------------------------------------------------------

    def order_list(self) -> None:
        query: dict[str, Any] = {"page": self.rng.randrange(0, 250)}
        if self.rng.random() < 0.7:
            query["sort"] = self.rng.randrange(0, 7)
            if self.rng.random() < 0.5:
                query["desc"] = 1
        self.call("order list", "GET", "/admin/order/?" + urlencode(query), keep_body=False)

    def order_search(self) -> None:
        customers = self.shared["customers"]
        term = self.rng.choice(customers)[1] if self.rng.random() < 0.7 else str(self.rng.randrange(1, 5000))
        self.call("order search", "GET", "/admin/order/?" + urlencode({"search": term}), keep_body=False)

    def product_list(self) -> None:
        query: dict[str, Any] = {"page": self.rng.randrange(0, 25)}
        if self.rng.random() < 0.3:
            query["search"] = self.rng.choice(("Kettle", "Linen", "Steel", "Walnut", "Glass"))
        self.call("product list", "GET", "/admin/product/?" + urlencode(query), keep_body=False)

    def dashboard(self) -> None:
        self.call("dashboard", "GET", "/admin/", keep_body=False)

    def csv_export(self) -> None:
        filters = self.shared.get("status_filters") or {}
        if filters and self.rng.random() < 0.6:
            path = filters[self.rng.choice(sorted(filters))].replace("/admin/order/?", "/admin/order/export/csv/?")
        else:
            path = "/admin/order/export/csv/?" + urlencode({"search": self.rng.choice(self.shared["customers"])[1]})
        reply = self.call("CSV export (filtered)", "GET", path, keep_body=False)
        if reply is not None and reply.status == 200 and reply.newlines < 1:
            self.journal.req(Req("CSV export (filtered)", "GET", path, 200, 0, self.user, "-",
                                 error="export without a header line"))

    # -- writing ------------------------------------------------------------------------

    def _form_page(self, kind: str, path: str, deleted_ok: bool) -> tuple[bench.Reply | None, dict[str, Any]]:
        reply = self.call(kind + " GET", "GET", path,
                          expected_other={410: "deleted record (410)"} if deleted_ok else None)
        if reply is None or reply.status != 200:
            return None, {}
        return reply, read_form(reply.body.decode("utf-8", "replace"))

    def _refusal(self, kind: str, body: bytes, entity_id: int | None) -> None:
        text = body.decode("utf-8", "replace")
        messages = " | ".join(m for _, m in alerts(body))
        if "since you opened it" in text:
            result = "refused_stale"
        elif "left in stock" in text:
            result = "refused_stock"
        elif "changed by someone else while you were saving" in text:
            result = "refused_stale_flush"
        elif "could not be saved" in text:
            result = "refused_error"
        else:
            result = "refused_validation"
        errors = re.findall(r'<div class="invalid-feedback">\s*<ul[^>]*>(.*?)</ul>', text, re.S)
        if errors:
            messages += " | field errors: " + " | ".join(" ".join(html.unescape(TAG.sub(" ", e)).split())
                                                     for e in errors)
        self.journal.outcome(Outcome(kind, result, self.user, entity_id, messages[:200]))

    def _post_form(self, kind: str, path: str, form: dict[str, Any], entity_id: int | None, success: str
                   ) -> tuple[bool, bench.Reply | None, float]:
        """POST a model form; True when the app acknowledged it (302 and its success message)."""
        sent = time.time()
        reply = self.call(kind + " POST", "POST", path, form, expect=(302, 200),
                          expected_other={410: "deleted record (410)"})
        if reply is None:
            self.journal.outcome(Outcome(kind, "unknown", self.user, entity_id, "no answer"))
            return False, None, sent
        if reply.status == 302:
            messages = self.follow(kind, reply)
            if any(cat == "success" and success in msg for cat, msg in messages):
                return True, reply, sent
            self.journal.outcome(Outcome(kind, "unknown", self.user, entity_id,
                                         "302 without success message: " + " | ".join(m for _, m in messages)))
            return False, reply, sent
        if reply.status == 200:
            self._refusal(kind, reply.body, entity_id)
        elif reply.status == 410:
            self.journal.outcome(Outcome(kind, "refused_deleted", self.user, entity_id))
        return False, reply, sent

    def price_edit(self) -> None:
        shared = self.shared
        pid = self.rng.choice(shared["hot_products"]) if self.rng.random() < 0.7 else self.rng.choice(
            shared["all_products"])
        path = f"/admin/product/edit/?id={pid}&url=%2Fadmin%2Fproduct%2F"
        _page, form = self._form_page("product edit", path, deleted_ok=True)
        if not form:
            return
        old = Decimal(form.get("price") or "0")
        price = old
        while price == old:
            price = Decimal(self.rng.randrange(100, 99_999)) / 100
        form["price"] = f"{price:.2f}"
        version = int(form["loaded_version"])
        time.sleep(self.rng.uniform(*THINK_SECONDS))
        ok, _reply, sent = self._post_form("product edit", path, form, pid, "successfully saved")
        if ok:
            self.journal.write(Write("price", self.user, sent, time.time(), "Product", pid, version,
                                     {"price": f"{price:.2f}", "old": f"{old:.2f}"}))

    def delete_restore(self) -> None:
        pid = self.rng.choice(sorted(self.own))
        sent = time.time()
        if not self.own[pid]:
            reply = self.call("product delete POST", "POST", "/admin/product/delete/",
                              {"id": pid, "url": "/admin/product/", "csrf_token": self.csrf}, expect=(302,))
            kind, success = "delete", "successfully deleted"
        else:
            reply = self.call("product restore POST", "POST", "/admin/product/action/",
                              {"action": "restore", "rowid": pid, "url": "/admin/product/", "csrf_token": self.csrf},
                              expect=(302,))
            kind, success = "restore", "restored:"  # "1 record restored: ...", "2 records restored: ..."
        if reply is None or reply.status != 302:
            self.journal.outcome(Outcome(kind, "unknown", self.user, pid,
                                         f"status {reply.status if reply else 'none'}"))
            if reply is None or reply.status >= 500:
                self.own.pop(pid)  # outcome unknown: leave this product alone from now on
                self.shared["uncertain_products"].add(pid)
            return
        messages = self.follow(f"product {kind}", reply)
        if any(cat == "success" and success in msg for cat, msg in messages):
            self.own[pid] = kind == "delete"
            self.journal.write(Write(kind, self.user, sent, time.time(), "Product", pid))
        else:
            self.journal.outcome(Outcome(kind, "refused_error" if any(c == "danger" for c, _ in messages)
                                         else "refused_validation", self.user, pid,
                                         " | ".join(m for _, m in messages)[:200]))

    def order_edit(self) -> None:
        shared = self.shared
        oid = self.rng.choice(shared["hot_orders"]) if self.rng.random() < 0.75 else self.rng.choice(
            shared["live_orders"])
        path = f"/admin/order/edit/?id={oid}&url=%2Fadmin%2Forder%2F"
        _page, form = self._form_page("order edit", path, deleted_ok=True)
        if not form:
            return
        indexes = sorted({int(m.group(1)) for k in form if (m := re.fullmatch(r"items-(\d+)-id", k))})
        if not indexes:
            self.journal.outcome(Outcome("order_edit", "refused_validation", self.user, oid, "form without items"))
            return
        change = self.rng.choice(indexes)
        old_quantity = int(form[f"items-{change}-quantity"])
        quantity = old_quantity
        while quantity == old_quantity:
            quantity = self.rng.randint(1, 9)
        form[f"items-{change}-quantity"] = str(quantity)
        new_index = max(indexes) + 1
        new_product = self.rng.choice(shared["item_products"])
        new_quantity = self.rng.randint(1, 5)
        form.update({f"items-{new_index}-product": str(new_product), f"items-{new_index}-quantity": str(new_quantity),
                     f"items-{new_index}-price": ""})
        items = [{"id": int(form[f"items-{i}-id"]), "product": int(form[f"items-{i}-product"]),
                  "quantity": int(form[f"items-{i}-quantity"]), "price": form[f"items-{i}-price"]} for i in indexes]
        version = int(form["loaded_version"])
        time.sleep(self.rng.uniform(*THINK_SECONDS))
        ok, _reply, sent = self._post_form("order edit", path, form, oid, "successfully saved")
        if ok:
            self.journal.write(Write("order_edit", self.user, sent, time.time(), "Order", oid, version, {
                "items": items, "new": {"product": new_product, "quantity": new_quantity},
                "changed": {"id": int(form[f"items-{change}-id"]), "quantity": quantity, "old": old_quantity},
                "status": form.get("status")}))

    def status_action(self) -> None:
        shared = self.shared
        ids = sorted({self.rng.choice(shared["hot_orders"]) if self.rng.random() < 0.5
                      else self.rng.choice(shared["open_orders"]) for _ in range(self.rng.randint(1, 3))})
        target = self.rng.choices(("paid", "shipped", "delivered", "cancelled"), (35, 30, 20, 15))[0]
        sent = time.time()
        reply = self.call("order status action POST", "POST", "/admin/order/action/",
                          [("action", ACTION_FOR[target]), *(("rowid", i) for i in ids), ("url", "/admin/order/"),
                           ("csrf_token", self.csrf)], expect=(302,))
        if reply is None or reply.status != 302:
            for i in ids:
                self.journal.outcome(Outcome("status", "unknown", self.user, i,
                                             f"status {reply.status if reply else 'none'}"))
                shared["uncertain_orders"].add(i)
            return
        messages = self.follow("order status action", reply)
        acked = time.time()
        moved: set[int] = set()
        for cat, msg in messages:
            if cat == "success" and f"marked {target}" in msg:
                moved |= {int(n) for n in re.findall(r"#(\d+)", msg.split(":", 1)[1])}
        for i in ids:
            if i in moved:
                self.journal.write(Write("status", self.user, sent, acked, "Order", i, None, {"status": target}))
            else:
                why = next((m for c, m in messages if f"#{i} " in m), " | ".join(m for _, m in messages))
                result = "refused_workflow" if "left unchanged" in why else "refused_error"
                self.journal.outcome(Outcome("status", result, self.user, i, why[:200]))

    def product_create(self) -> None:
        self.created += 1
        page, form = self._form_page("product create", "/admin/product/new/?url=%2Fadmin%2Fproduct%2F", False)
        if page is None:
            return
        price = Decimal(self.rng.randrange(100, 99_999)) / 100
        tag = f"{self.shared['run_tag']}-{self.index}-{self.created}"
        form.update({"name": f"Load test product {tag}", "sku": f"LT-{tag}", "category": "",
                     "price": f"{price:.2f}", "stock": str(self.rng.randint(0, 50)), "description": "",
                     "_continue_editing": "Save and Continue Editing"})
        sent = time.time()
        reply = self.call("product create POST", "POST", "/admin/product/new/?url=%2Fadmin%2Fproduct%2F", form,
                          expect=(302, 200))
        if reply is None or reply.status != 302:
            if reply is not None and reply.status == 200:
                self._refusal("product_create", reply.body, None)
            return
        match = re.search(r"[?&]id=(\d+)", reply.headers.get("Location") or "")
        messages = self.follow("product create", reply)
        if match and any(c == "success" and "successfully created" in m for c, m in messages):
            self.journal.write(Write("product_create", self.user, sent, time.time(), "Product", int(match.group(1)),
                                     None, {"price": f"{price:.2f}", "name": form["name"],
                                            "stock": int(form["stock"])}))
        else:
            self.journal.outcome(Outcome("product_create", "unknown", self.user, None, str(messages)[:200]))

    def last_units(self) -> None:
        """An order for one of the scarce products: the staff race for their last units, and
        every sale beyond the stock must be refused with the stock's message."""
        self.order_create(scarce=True)

    def order_create(self, scarce: bool = False) -> None:
        kind = "last units" if scarce else "order create"
        page, form = self._form_page(kind, "/admin/order/new/?url=%2Fadmin%2Forder%2F", False)
        if page is None:
            return
        customer_id, _username, address_id = self.rng.choice(self.shared["customers"])
        if scarce:
            items = [{"product": self.rng.choice(self.shared["scarce_products"]), "quantity": self.rng.randint(1, 2)}]
        else:
            products = self.rng.sample(self.shared["item_products"], self.rng.randint(1, 3))
            items = [{"product": p, "quantity": self.rng.randint(1, 5)} for p in products]
        form.update({"user": str(customer_id), "address": str(address_id), "status": "pending",
                     "shipping_fee": "4.95", "notes": "", "_continue_editing": "Save and Continue Editing"})
        for n, item in enumerate(items):
            form.update({f"items-{n}-product": str(item["product"]), f"items-{n}-quantity": str(item["quantity"]),
                         f"items-{n}-price": ""})
        sent = time.time()
        reply = self.call(f"{kind} POST", "POST", "/admin/order/new/?url=%2Fadmin%2Forder%2F", form,
                          expect=(302, 200))
        if reply is None or reply.status != 302:
            if reply is not None and reply.status == 200:
                self._refusal("last_units" if scarce else "order_create", reply.body, None)
            return
        match = re.search(r"[?&]id=(\d+)", reply.headers.get("Location") or "")
        messages = self.follow(kind, reply)
        if match and any(c == "success" and "successfully created" in m for c, m in messages):
            self.journal.write(Write("order_create", self.user, sent, time.time(), "Order", int(match.group(1)),
                                     -1, {"items": [], "created": items, "status": "pending", "scarce": scarce}))
        else:
            self.journal.outcome(Outcome("order_create", "unknown", self.user, None, str(messages)[:200]))


# --------------------------------------------------------------------------- verification


class Verifier:
    """Compares the database after the run with the acknowledged writes (rules in bench/README.md)."""

    def __init__(self, url: str, base: dict[str, Any], final: dict[str, Any], writes: list[Write],
                 shared: dict[str, Any], started: float) -> None:
        self.url, self.base, self.final, self.writes, self.shared = url, base, final, writes, shared
        self.started = started
        self.failures: dict[str, list[str]] = defaultdict(list)
        self.notes: list[str] = []
        self.checked: Counter[str] = Counter()

    def fail(self, rule: str, message: str) -> None:
        self.failures[rule].append(message)

    def run(self) -> None:
        self.prices()
        self.deletions()
        self.statuses()
        self.items()
        self.created()
        self.stock()
        self.invariants()
        self.audit()

    def by_entity(self, *kinds: str) -> dict[int, list[Write]]:
        found: dict[int, list[Write]] = defaultdict(list)
        for w in self.writes:
            if w.kind in kinds:
                found[w.entity_id].append(w)
        return found

    def chain(self, rule: str, label: str, writes: list[Write]) -> list[Write]:
        """Acknowledged edits of one record ordered by the version their form was loaded with.
        Optimistic locking allows one successful save per version: a repeated version is a
        lost update; an edit acknowledged before another was sent must have the lower version."""
        ordered = sorted(writes, key=lambda w: w.loaded_version)
        for a, b in zip(ordered, ordered[1:]):
            if a.loaded_version == b.loaded_version:
                self.fail(rule, f"{label}: two saves acknowledged from the same version {a.loaded_version} "
                                f"({a.user} and {b.user}): one overwrote the other (lost update)")
        for a in writes:
            for b in writes:
                if a is not b and a.acked < b.sent and a.loaded_version >= b.loaded_version:
                    self.fail(rule, f"{label}: save by {b.user} sent after {a.user}'s was acknowledged, "
                                    f"but loaded version {b.loaded_version} <= {a.loaded_version}")
        return ordered

    def prices(self) -> None:
        edits = self.by_entity("price")
        created = {w.entity_id for w in self.writes if w.kind == "product_create"}
        for pid, row in self.final["products"].items():
            if pid in created or pid not in self.base["products"]:
                continue
            self.checked["product prices"] += 1
            if pid not in edits:
                if row["price"] != self.base["products"][pid]["price"]:
                    self.fail("prices", f"product {pid}: price {row['price']} but no save of it was acknowledged "
                                        f"(was {self.base['products'][pid]['price']})")
                continue
            ordered = self.chain("prices", f"product {pid}", edits[pid])
            last = ordered[-1]
            if f"{row['price']:.2f}" != last.data["price"]:
                values = [w.data["price"] for w in ordered]
                self.fail("prices", f"product {pid}: price {row['price']:.2f}, last acknowledged save "
                                    f"(version {last.loaded_version}, {last.user}) set {last.data['price']}; "
                                    f"acknowledged values in version order {values}")
        for pid in self.base["products"]:
            if pid not in self.final["products"]:
                self.fail("prices", f"product {pid} is gone from the database")

    def deletions(self) -> None:
        ops = self.by_entity("delete", "restore")
        owned = {pid for pool in self.shared["delete_pools"] for pid in pool}
        uncertain = self.shared["uncertain_products"]
        for pid, row in self.final["products"].items():
            if pid not in self.base["products"] or pid in uncertain:
                continue
            self.checked["product deleted flags"] += 1
            expected = self.base["products"][pid]["deleted"]
            if pid in ops:
                # One owner per product: its acknowledgements are in a known order.
                expected = max(ops[pid], key=lambda w: w.acked).kind == "delete"
            elif pid not in owned and row["deleted"] != expected:
                self.fail("soft delete", f"product {pid}: deleted={row['deleted']} but no delete/restore of it ran")
                continue
            if row["deleted"] != expected:
                last = max(ops[pid], key=lambda w: w.acked) if pid in ops else None
                self.fail("soft delete", f"product {pid}: deleted={row['deleted']}, expected {expected} "
                                         f"(last acknowledged: {last.kind if last else 'none'})")

    def statuses(self) -> None:
        moves = self.by_entity("status")
        created = {w.entity_id for w in self.writes if w.kind == "order_create"}
        uncertain = self.shared["uncertain_orders"]
        for oid, row in self.final["orders"].items():
            if oid in uncertain:
                continue
            start = "pending" if oid in created else self.base["orders"].get(oid, {}).get("status")
            if start is None:
                continue
            self.checked["order statuses"] += 1
            targets = [w.data["status"] for w in moves.get(oid, [])]
            if len(targets) != len(set(targets)):
                self.fail("statuses", f"order {oid}: the same move acknowledged twice: {sorted(targets)}")
            # Each move is one workflow step and the workflow has no cycles, so the acknowledged
            # moves must be the steps of one path from the start; the order ends at its end.
            path = workflow_path(start, set(targets))
            if path is None:
                self.fail("statuses", f"order {oid}: acknowledged moves {sorted(targets)} from {start} are not "
                                      "one workflow path (two conflicting moves both acknowledged)")
            elif row["status"] != (path[-1] if path else start):
                self.fail("statuses", f"order {oid}: status {row['status']}, expected "
                                      f"{path[-1] if path else start} (start {start}, acknowledged moves {path})")

    def items(self) -> None:
        edits = self.by_entity("order_edit", "order_create")
        for oid in self.final["orders"]:
            actual = self.final["items"].get(oid, [])
            if oid not in edits:
                if oid in self.base["items"] or oid in self.base["orders"]:
                    self.checked["order items"] += 1
                    if actual != self.base["items"].get(oid, []):
                        self.fail("order items", f"order {oid}: items changed without an acknowledged save: "
                                                 f"{self.base['items'].get(oid)} -> {actual}")
                continue
            self.checked["order items"] += 1
            last = self.chain("order items", f"order {oid}", edits[oid])[-1]
            if last.kind == "order_create":
                got = sorted((p, q) for _i, p, q, _price in actual)
                want = sorted((i["product"], i["quantity"]) for i in last.data["created"])
                if got != want:
                    self.fail("order items", f"order {oid} (created by {last.user}): items {got}, expected {want}")
                continue
            by_id = {i: (p, q, price) for i, p, q, price in actual}
            problems = []
            for item in last.data["items"]:
                row = by_id.pop(item["id"], None)
                want = (item["product"], item["quantity"], money(item["price"]))
                if row is None:
                    problems.append(f"item {item['id']} missing")
                elif row != want:
                    problems.append(f"item {item['id']} is {row}, expected {want}")
            new = last.data["new"]
            extra = sorted(by_id.values())
            if len(extra) != 1 or extra[0][:2] != (new["product"], new["quantity"]):
                problems.append(f"rows beyond the saved ones {extra}, expected exactly one new "
                                f"({new['product']}, {new['quantity']})")
            if problems:
                self.fail("order items", f"order {oid}: last acknowledged save (version {last.loaded_version}, "
                                         f"{last.user}): " + "; ".join(problems))

    def created(self) -> None:
        for w in self.writes:
            if w.kind == "product_create":
                self.checked["created products"] += 1
                row = self.final["products"].get(w.entity_id)
                if row is None or f"{row['price']:.2f}" != w.data["price"] or row["name"] != w.data["name"]:
                    self.fail("creates", f"product {w.entity_id} created by {w.user}: expected "
                                         f"{w.data['name']!r} at {w.data['price']}, found {row}")
            elif w.kind == "order_create":
                self.checked["created orders"] += 1
                if w.entity_id not in self.final["orders"]:
                    self.fail("creates", f"order {w.entity_id} created by {w.user} is missing")

    def stock(self) -> None:
        """The ledger: every product's stock is the sum of its movements, and every order's
        items are covered by its movements (the units it holds, per product, were taken;
        a cancelled or deleted order's were given back); the scarce products were never
        oversold."""
        from sqlalchemy import text

        engine = engine_for(self.url)
        try:
            with engine.connect() as conn:
                ledger = {r.product_id: r.total for r in conn.execute(text(
                    "SELECT product_id, sum(quantity) AS total FROM stock_movements GROUP BY product_id"))}
                taken: dict[tuple[int, int], int] = defaultdict(int)
                for r in conn.execute(text("SELECT order_id, product_id, sum(quantity) AS total FROM stock_movements "
                                           "WHERE order_id IS NOT NULL GROUP BY order_id, product_id")):
                    taken[(r.order_id, r.product_id)] = -r.total
        finally:
            engine.dispose()
        for pid, row in self.final["products"].items():
            self.checked["stock = sum of movements"] += 1
            if row["stock"] != ledger.get(pid, 0):
                self.fail("stock", f"product {pid}: stock {row['stock']}, movements add up to {ledger.get(pid, 0)}")
        for oid, order in self.final["orders"].items():
            holds = order["status"] != "cancelled" and not order["deleted"]
            held: dict[int, int] = defaultdict(int)
            for _item, pid, quantity, _price in self.final["items"].get(oid, []) if holds else []:
                held[pid] += quantity
            for pid in held.keys() | {p for o, p in taken if o == oid}:
                self.checked["order lines covered by movements"] += 1
                if held.get(pid, 0) != taken.get((oid, pid), 0):
                    self.fail("stock", f"order {oid}, product {pid}: holds {held.get(pid, 0)} units, its movements "
                                       f"took {taken.get((oid, pid), 0)}")
        sold = Counter()
        for w in self.writes:
            if w.kind == "order_create" and w.data.get("scarce"):
                for item in w.data["created"]:
                    sold[item["product"]] += item["quantity"]

        def held_by_live_orders(state: dict[str, Any], pid: int) -> int:
            return sum(quantity for oid, order in state["orders"].items()
                       if order["status"] != "cancelled" and not order["deleted"]
                       for _item, product, quantity, _price in state["items"].get(oid, []) if product == pid)

        for pid in self.shared["scarce_products"]:
            left = self.final["products"][pid]["stock"]
            # Orders cancelled or deleted meanwhile gave units back, which were sold again: what
            # counts is that the units live orders took since the start never exceed the 3.
            taken = held_by_live_orders(self.final, pid) - held_by_live_orders(self.base, pid)
            self.notes.append(f"scarce product {pid}: {SCARCE_UNITS} units, {sold[pid]} sold in acknowledged orders, "
                              f"{taken} now held by live orders, {left} left")
            if left < 0 or left + taken != SCARCE_UNITS:
                self.fail("stock", f"scarce product {pid}: {taken} units taken by live orders and {left} left, "
                                   f"from {SCARCE_UNITS}")

    def invariants(self) -> None:
        from sqlalchemy import text

        empty_before = {oid for oid in self.base["orders"] if not self.base["items"].get(oid)}
        for oid in self.final["orders"]:
            if not self.final["items"].get(oid) and oid not in empty_before:
                self.fail("invariants", f"order {oid} has no items (it had some)")
        negative = [pid for pid, row in self.final["products"].items() if row["stock"] < 0]
        if negative:
            self.fail("invariants", f"negative stock: products {negative[:20]}")
        engine = engine_for(self.url)
        try:
            with engine.connect() as conn:
                bad_items = conn.execute(
                    text("SELECT count(*) FROM order_items WHERE quantity <= 0 OR price < 0")).scalar()
                if bad_items:
                    self.fail("invariants", f"{bad_items} order items with quantity <= 0 or negative price")
                if bench.db_kind(self.url) == "sqlite":
                    result = [r[0] for r in conn.execute(text("PRAGMA integrity_check"))]
                    self.notes.append(f"PRAGMA integrity_check: {', '.join(result)[:200]}")
                    if result != ["ok"]:
                        self.fail("invariants", f"PRAGMA integrity_check: {result[:10]}")
                    fks = conn.execute(text("PRAGMA foreign_key_check")).fetchall()
                    self.notes.append(f"PRAGMA foreign_key_check: {len(fks)} violation(s)")
                    if fks:
                        self.fail("invariants", f"PRAGMA foreign_key_check: {fks[:10]}")
        finally:
            engine.dispose()

    def audit(self) -> None:
        """Every acknowledged write has its AuditLog entry (same entity, action, actor, new
        value, written between the request and its acknowledgement); entries by the load
        accounts that match no acknowledged write are reported too."""
        from sqlalchemy import text

        engine = engine_for(self.url)
        try:
            with engine.connect() as conn:
                rows = conn.execute(text(
                    "SELECT id, created_at, actor_label, action, entity_type, entity_id, changes FROM audit_log "
                    # A product's stock entries follow the order writes that moved it; the ledger
                    # is checked against the orders in ``stock``.
                    "WHERE actor_label LIKE 'load%' AND action <> 'stock' ORDER BY id")).fetchall()
        finally:
            engine.dispose()
        entries = []
        for r in rows:
            created = r.created_at
            if isinstance(created, str):
                created = datetime.fromisoformat(created)
            if created.tzinfo is None:
                created = created.replace(tzinfo=UTC)
            changes = r.changes if isinstance(r.changes, dict) else json.loads(r.changes or "{}")
            entries.append({"id": r.id, "at": created, "actor": r.actor_label, "action": r.action,
                            "type": r.entity_type, "eid": r.entity_id, "changes": changes, "used": False})
        index: dict[tuple[str, str | None], list[dict[str, Any]]] = defaultdict(list)
        for e in entries:
            index[(e["type"], e["eid"])].append(e)
        creates_by_order: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for e in entries:
            if e["type"] == "OrderItem" and e["action"] == "create":
                order_id = (e["changes"].get("order_id") or [None, None])[1]
                creates_by_order[str(order_id)].append(e)

        def new_value(e: dict[str, Any], key: str) -> Any:
            value = e["changes"].get(key)
            return value[1] if isinstance(value, list) and len(value) == 2 else None

        def take(candidates: list[dict[str, Any]], w: Write, actions: tuple[str, ...], check: Any) -> bool:
            low, high = utc(w.sent) - AUDIT_SLACK, utc(w.acked) + AUDIT_SLACK
            for e in candidates:
                if (not e["used"] and e["actor"] == w.user and e["action"] in actions and low <= e["at"] <= high
                        and check(e)):
                    e["used"] = True
                    return True
            return False

        missing: list[str] = []
        optional: list[tuple[list[dict[str, Any]], Write]] = []
        for w in sorted(self.writes, key=lambda w: w.acked):
            self.checked["audit entries"] += 1
            key = (w.entity, str(w.entity_id))
            if w.kind == "price":
                ok = take(index[key], w, ("update",), lambda e, w=w: new_value(e, "price") == w.data["price"])
            elif w.kind == "delete":
                ok = take(index[key], w, ("soft_delete",), lambda e: True)
            elif w.kind == "restore":
                ok = take(index[key], w, ("restore",), lambda e: True)
            elif w.kind == "status":
                target = w.data["status"]
                ok = take(index[key], w, ("update", f"status:{target}"),
                          lambda e, target=target: new_value(e, "status") == target)
            elif w.kind == "product_create":
                ok = take(index[key], w, ("create",), lambda e, w=w: new_value(e, "price") == w.data["price"])
            elif w.kind == "order_create":
                ok = take(index[key], w, ("create",), lambda e: True)
                for item in w.data["created"]:
                    ok &= take(creates_by_order[str(w.entity_id)], w, ("create",),
                               lambda e, item=item: new_value(e, "product_id") == item["product"]
                               and new_value(e, "quantity") == item["quantity"])
            elif w.kind == "order_edit":
                changed, new = w.data["changed"], w.data["new"]
                ok = take(index[("OrderItem", str(changed["id"]))], w, ("update",),
                          lambda e, changed=changed: new_value(e, "quantity") == changed["quantity"])
                ok &= take(creates_by_order[str(w.entity_id)], w, ("create",),
                           lambda e, new=new: new_value(e, "product_id") == new["product"]
                           and new_value(e, "quantity") == new["quantity"])
                # The order's own row only has its timestamp and version touched: an entry for
                # it (other fields re-saved differently) is allowed, matched after the others.
                optional.append((index[key], w))
            else:
                ok = True
            if not ok:
                missing.append(f"{w.kind} {w.entity} {w.entity_id} by {w.user} at {utc(w.acked):%H:%M:%S.%f} "
                               f"{w.data if w.kind != 'order_edit' else w.data['changed'] | {'new': w.data['new']}}")
        for candidates, w in optional:
            take(candidates, w, ("update",), lambda e: "status" not in e["changes"])
        for m in missing:
            self.fail("audit log", "no matching entry for acknowledged " + m)
        unmatched = [e for e in entries if not e["used"]]
        if unmatched:
            summary = Counter(f"{e['type']} {e['action']}" for e in unmatched)
            for e in unmatched[:10]:
                self.fail("audit log", f"entry {e['id']} ({e['action']} {e['type']} {e['eid']} by {e['actor']} at "
                                       f"{e['at']:%H:%M:%S.%f}, {json.dumps(e['changes'])[:160]}) matches no "
                                       "acknowledged write (a change the user was told failed?)")
            self.notes.append("audit entries matching no acknowledged write: " + ", ".join(
                f"{v} {k}" for k, v in summary.items()))
        self.notes.append(f"audit entries by the load accounts: {len(entries)}, "
                          f"matched {len(entries) - len(unmatched)}")


# --------------------------------------------------------------------------- report


def report(journal: Journal, seconds: float, kind: str) -> dict[str, Any]:
    reqs = journal.requests
    errors = [r for r in reqs if r.error]
    say(f"\n== Traffic ({kind}): {len(reqs):,} requests in {seconds:.1f} s = {len(reqs) / seconds:,.1f} requests/s")
    by_status = Counter(str(r.status) if r.status is not None else "no answer" for r in reqs)
    say("  status: " + ", ".join(f"{k}: {v:,}" for k, v in sorted(by_status.items())))
    expected = Counter(r.expected for r in reqs if r.expected)
    if expected:
        say("  expected non-success answers: " + ", ".join(f"{k}: {v}" for k, v in expected.items()))
    error_kinds = Counter((str(r.status) if r.status is not None else "no answer") for r in errors)
    fivexx = sum(1 for r in reqs if r.status is not None and r.status >= 500)
    say(f"  ERRORS: {len(errors)} (5xx: {fivexx})" + ("  by status: " + ", ".join(
        f"{k}: {v}" for k, v in sorted(error_kinds.items())) if errors else ""))

    say("\n  latency by request kind (client wall time, ms)")
    headers = ("kind", "count", "errors", "p50", "p95", "p99", "max")
    rows = []
    groups: dict[str, list[Req]] = defaultdict(list)
    for r in reqs:
        groups[r.kind].append(r)
    for name in sorted(groups, key=lambda n: -len(groups[n])):
        ms = [r.ms for r in groups[name] if r.status is not None]
        rows.append((name, f"{len(groups[name]):,}", str(sum(1 for r in groups[name] if r.error)),
                     *(f"{percentile(ms, q):,.0f}" if ms else "-" for q in (0.5, 0.95, 0.99)),
                     f"{max(ms):,.0f}" if ms else "-"))
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(headers)]
    fmt = lambda cells: "  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(cells, widths)))  # noqa: E731
    say("  " + fmt(headers))
    say("  " + fmt(tuple("-" * w for w in widths)))
    for row in rows:
        say("  " + fmt(row))

    writes = Counter(w.kind for w in journal.writes)
    outcomes = Counter(f"{o.kind}: {o.result}" for o in journal.outcomes)
    say("\n  acknowledged writes: " + ", ".join(f"{k} {v}" for k, v in sorted(writes.items())) +
        f" (total {sum(writes.values())})")
    say("  refused / not acknowledged: " + (", ".join(f"{k} {v}" for k, v in sorted(outcomes.items())) or "none"))
    samples = defaultdict(list)
    for o in journal.outcomes:
        if o.result in ("refused_validation", "refused_error", "unknown") and len(samples[(o.kind, o.result)]) < 2:
            samples[(o.kind, o.result)].append(f"{o.user} #{o.entity_id}: {o.detail}")
    for (k, res), lines in sorted(samples.items()):
        for line in lines:
            say(f"    e.g. {k} {res}: {line[:220]}")
    if errors:
        say("\n  first errors:")
        for r in errors[:15]:
            say(f"    [{r.request_id}] {r.method} {r.path} -> {r.status}: {r.error} {r.excerpt[:160]}")
    return {"requests": len(reqs), "seconds": round(seconds, 2), "rps": round(len(reqs) / seconds, 1),
            "by_status": dict(by_status), "errors": len(errors), "5xx": fivexx,
            "latency": {row[0]: dict(zip(headers[1:], row[1:])) for row in rows},
            "writes": dict(writes), "outcomes": dict(outcomes),
            "error_samples": [asdict(r) for r in errors[:50]]}


def log_excerpts(log_path: Path, request_ids: list[str], limit: int = 8) -> list[str]:
    """Lines of the gunicorn log about the failed requests (app log lines carry the id)."""
    if not request_ids or not log_path.exists():
        return []
    wanted = set(request_ids[:limit])
    out = []
    for line in log_path.read_text(errors="replace").splitlines():
        if any(rid in line for rid in wanted) and ('"status": 2' not in line and '"status": 3' not in line):
            entry = line
            try:
                data = json.loads(line)
                if "exception" in data:
                    entry = f"{data.get('request_id')} {data.get('message')}: " + " / ".join(
                        data["exception"].splitlines()[-4:])
            except ValueError:
                pass
            out.append(entry[:600])
    return out


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=DEFAULT_DB,
                        help=f"default {DEFAULT_DB}; or postgresql://postgres@127.0.0.1:5432/load (never 'test')")
    parser.add_argument("--staff", type=int, default=8, help="simulated staff members (default 8)")
    parser.add_argument("--duration", type=float, default=60.0, help="seconds of load (default 60)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers (default 4)")
    parser.add_argument("--customers", type=int, default=2000)
    parser.add_argument("--products", type=int, default=500)
    parser.add_argument("--orders", type=int, default=5000)
    parser.add_argument("--seed", type=int, default=1, help="random seed of the simulated staff")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args(argv)
    if not 1 <= args.staff <= 50 or not 0 < args.duration <= 3600:
        parser.error("--staff 1..50, --duration up to 3600 s")

    url = resolve_database_url(args.database_url)
    kind = bench.db_kind(url)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    bench.RESULTS.mkdir(parents=True, exist_ok=True)
    bench.DATA.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": secrets.token_hex(32),
           "RATELIMIT_STORAGE_URI": REDIS_URI, "PYTHONUNBUFFERED": "1"}
    env.pop("FLASK_DEBUG", None)

    say(f"== Load test database: {url}")
    prepare_database(url, env, args)
    base = snapshot(url)
    chosen = picks(url)
    rng = random.Random(args.seed)
    live_products = sorted(pid for pid, p in base["products"].items() if not p["deleted"])
    rng.shuffle(live_products)
    # A few products with only a few units left, which every member tries to sell.
    scarce_products, live_products = live_products[:SCARCE_PRODUCTS], live_products[SCARCE_PRODUCTS:]
    for pid in scarce_products:
        change = SCARCE_UNITS - base["products"][pid]["stock"]
        if change:
            manage(["adjust-stock", str(pid), "--quantity", str(change), "--reason", "correction",
                    "--note", "load test: a few units left"], env)
    say(f"  scarce products {scarce_products}: {SCARCE_UNITS} units each")
    base = snapshot(url)
    # Disjoint roles for products: a few hot ones for price edits, a pool per member for
    # delete/restore, and the rest for new order items (never deleted, so always valid).
    hot_products = live_products[:HOT_PRODUCTS]
    pool_size = 6
    delete_pools = [live_products[HOT_PRODUCTS + n * pool_size: HOT_PRODUCTS + (n + 1) * pool_size]
                    for n in range(args.staff)]
    item_products = live_products[HOT_PRODUCTS + args.staff * pool_size:]
    live_orders = sorted(oid for oid, o in base["orders"].items() if not o["deleted"])
    open_orders = [oid for oid in live_orders if base["orders"][oid]["status"] in ("pending", "paid", "shipped")]
    hot_orders = rng.sample([oid for oid in open_orders if base["orders"][oid]["status"] in ("pending", "paid")],
                            HOT_ORDERS)
    shared: dict[str, Any] = {
        "customers": chosen["customers"], "hot_products": hot_products, "all_products": sorted(base["products"]),
        "delete_pools": delete_pools, "item_products": item_products, "live_orders": live_orders,
        "open_orders": open_orders, "hot_orders": hot_orders, "uncertain_products": set(), "uncertain_orders": set(),
        "run_tag": stamp[-7:-1], "status_filters": {}, "scarce_products": scarce_products,
    }

    log_path = bench.RESULTS / f"{stamp}-load-{kind}-gunicorn.log"
    server = LoadServer(env, args.port or free_port(), log_path, args.workers)
    journal = Journal()
    previous_term = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        say("\n== Serving")
        server.start()
        say(f"  {len(bench.children_of(server.process.pid))} workers, log {log_path.relative_to(ROOT)}")
        deadline = time.monotonic() + 10_000
        members = [Staff(n, server.port, journal, deadline, shared, args.seed) for n in range(1, args.staff + 1)]
        for member in members:
            member.login()
        say(f"  {args.staff} staff members signed in through /login (throttling in {REDIS_URI})")
        say(f"\n== Load: {args.staff} staff members for {args.duration:.0f} s")
        journal.requests.clear()
        started = time.monotonic()
        run_started = time.time()
        for member in members:
            member.deadline = started + args.duration
            member.start()
        for member in members:
            member.join(timeout=max(0.0, started + args.duration + CLIENT_TIMEOUT + 30 - time.monotonic()))
        seconds = time.monotonic() - started
        stuck = [m.name for m in members if m.is_alive()]
        if stuck:
            say(f"  still running after the grace period (abandoned): {stuck}")
    finally:
        server.stop()
        signal.signal(signal.SIGTERM, previous_term)
    say("  gunicorn stopped")

    with journal.lock:
        summary = report(journal, seconds, kind)
    failing_ids = [r.request_id for r in journal.requests if r.error and r.request_id != "-"]
    excerpts = log_excerpts(log_path, failing_ids)
    if excerpts:
        say("\n  gunicorn log about the failed requests:")
        for line in excerpts:
            say("    " + line)
    handled = [line for line in log_path.read_text(errors="replace").splitlines() if '"level": "ERROR"' in line]
    if handled:
        say(f"\n  ERROR lines in the gunicorn log: {len(handled)}; first:")
        for line in handled[:3]:
            try:
                data = json.loads(line)
                say(f"    {data.get('request_id')} {data.get('message')}: "
                    + " / ".join((data.get("exception") or "").splitlines()[-2:])[:400])
            except ValueError:
                say("    " + line[:400])

    say("\n== Verifying the database directly (gunicorn stopped)")
    final = snapshot(url)
    verifier = Verifier(url, base, final, journal.writes, shared, run_started)
    verifier.run()
    say("  checked: " + ", ".join(f"{v:,} {k}" for k, v in verifier.checked.items()))
    for note in verifier.notes:
        say("  " + note)
    rules = ("prices", "soft delete", "statuses", "order items", "creates", "stock", "invariants", "audit log")
    for rule in rules:
        problems = verifier.failures.get(rule, [])
        say(f"  {rule:<12} {'OK' if not problems else f'FAILED ({len(problems)})'}")
        for p in problems[:8]:
            say(f"      {p}")
    lost = sum(len(verifier.failures.get(r, [])) for r in rules)
    ok = summary["errors"] == 0 and lost == 0
    say(f"\n== Result ({kind}): {summary['errors']} errors ({summary['5xx']} 5xx), {lost} verification failures "
        f"-> {'PASS' if ok else 'FAIL'}")

    out = bench.RESULTS / f"{stamp}-load-{kind}.json"
    out.write_text(json.dumps({
        "database_url": url, "settings": vars(args), "traffic": summary,
        "verification": {"checked": dict(verifier.checked), "failures": dict(verifier.failures),
                         "notes": verifier.notes},
        "writes": [asdict(w) for w in journal.writes], "gunicorn_log": str(log_path.relative_to(ROOT)),
    }, indent=1, default=str))
    say(f"Written {out.relative_to(ROOT)}")
    return 0 if ok else 1


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        say("\ninterrupted (gunicorn stopped)")
        sys.exit(130)
