#!/usr/bin/env python
"""Benchmark the back office at bench scale: prints figures (not a test).

Builds (or with ``--reuse`` keeps) a bench-scale database with the project's own CLI
(``db upgrade``, ``seed-demo --bench``), serves the app with gunicorn (1 sync worker)
through ``bench/sql_counter.py`` (counts SQL statements per request), signs in through the
real login form and times the main back-office pages. Exports, which run as jobs on the task
queue, are measured by ``bench/jobs.py``.

    python bench/run.py                       # SQLite: bench/data/bench.db, rebuilt
    python bench/run.py --reuse               # keep the database if it is already there
    python bench/run.py --database-url postgresql://postgres@127.0.0.1:5432/bench

Results: a table on stdout and ``bench/results/<timestamp>-<db>.json`` (with every timing,
the slowest SQL statements per page and their query plans). Only the standard library is
needed on the client side (``http.client``); the server side is the project's own stack.
"""

from __future__ import annotations

import argparse
import http.client
import http.cookies
import json
import os
import platform
import re
import secrets
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote, urlencode

import pyotp

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # admin_app.config, for the URL normalisation
BENCH = ROOT / "bench"
DATA = BENCH / "data"
RESULTS = BENCH / "results"
DEFAULT_DB = "sqlite:///bench/data/bench.db"
BENCH_USER, BENCH_EMAIL = "bench", "bench@shop.example"
BENCH_PASSWORD = "bench-password-not-secret"  # a throwaway bench database only
# The bench admin signs in with a second factor, as admins must (TWO_FACTOR_REQUIRED_ROLES).
BENCH_TOTP_SECRET = "BENCHBENCHBENCHBENCHBENCHBENCH23"  # a throwaway bench database only
# The key its TOTP secret is stored under: fixed, so a --reuse run (with its own random
# SECRET_KEY, from which the key is otherwise derived) can still read it.
BENCH_TWO_FACTOR_KEY = "YmVuY2gtdHdvLWZhY3Rvci1rZXktbm90LXNlY3JldCE="  # a throwaway bench database only
LAST_PATH = "/__bench__/last"
EXPLAIN_PAGES_OVER_MS = 100.0  # pages slower than this get their heaviest statements replayed
EXPLAIN_OVER_MS = 20.0  # and plans are shown for statements whose replay is slower than this


# --------------------------------------------------------------------------- small helpers


def say(message: str = "") -> None:
    print(message, flush=True)


def percentile(values: list[float], fraction: float) -> float:
    """Linear interpolation between closest ranks (numpy's default)."""
    ordered = sorted(values)
    if len(ordered) == 1:
        return ordered[0]
    position = (len(ordered) - 1) * fraction
    low = int(position)
    high = min(low + 1, len(ordered) - 1)
    return ordered[low] + (ordered[high] - ordered[low]) * (position - low)


def resolve_database_url(url: str) -> str:
    """A relative SQLite path is relative to the project root (Flask-SQLAlchemy would take it
    relative to ``instance/``): make it absolute so every process opens the same file."""
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        return "sqlite:///" + str((ROOT / url[len("sqlite:///"):]).resolve())
    return url


def db_kind(url: str) -> str:
    return "sqlite" if url.startswith("sqlite") else "postgresql"


def sqlalchemy_url(url: str) -> str:
    from admin_app.config import normalise_database_url

    return normalise_database_url(url)


def manage(args: list[str], env: dict[str, str], stdin: str | None = None,
           check: bool = True) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, input=stdin,
                          text=True, capture_output=True, check=check)


# --------------------------------------------------------------------------- the database


def pg_parts(url: str) -> dict[str, str]:
    from sqlalchemy.engine import make_url

    parsed = make_url(sqlalchemy_url(url))
    return {"host": parsed.host or "127.0.0.1", "port": str(parsed.port or 5432),
            "user": parsed.username or "postgres", "database": parsed.database or ""}


def psql(url: str, sql: str, database: str = "postgres") -> str:
    parts = pg_parts(url)
    env = {**os.environ}
    return subprocess.run(["psql", "-h", parts["host"], "-p", parts["port"], "-U", parts["user"], "-d", database,
                           "-v", "ON_ERROR_STOP=1", "-Atc", sql],
                          env=env, text=True, capture_output=True, check=True).stdout.strip()


def prepare_postgresql(url: str, reuse: bool) -> None:
    name = pg_parts(url)["database"]
    if not name or name.lower().startswith("test") or not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", name):
        raise SystemExit(f"refusing database {name!r}: use a dedicated one such as 'bench' (never 'test')")
    exists = psql(url, f"SELECT 1 FROM pg_database WHERE datname = '{name}'") == "1"
    if exists and reuse:
        return
    if exists:
        say(f"Dropping PostgreSQL database {name!r} (rebuild; --reuse keeps it)")
        psql(url, f'DROP DATABASE "{name}" WITH (FORCE)')
    say(f"Creating PostgreSQL database {name!r}")
    psql(url, f'CREATE DATABASE "{name}"')


def prepare_sqlite(url: str, reuse: bool) -> None:
    path = Path(url[len("sqlite:///"):])
    path.parent.mkdir(parents=True, exist_ok=True)
    if path.exists() and not reuse:
        say(f"Removing {path} (rebuild; --reuse keeps it)")
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(str(path) + suffix).unlink(missing_ok=True)


def has_orders(url: str) -> bool:
    from sqlalchemy import create_engine, text

    engine = create_engine(sqlalchemy_url(url))
    try:
        with engine.connect() as conn:
            return bool(conn.execute(text("SELECT EXISTS (SELECT 1 FROM orders)")).scalar())
    except Exception:  # no schema yet
        return False
    finally:
        engine.dispose()


def build_database(url: str, reuse: bool, env: dict[str, str]) -> dict[str, Any]:
    """Schema, bench data (timed) and the bench admin; returns what was done."""
    build: dict[str, Any] = {"reused": False}
    if db_kind(url) == "sqlite":
        prepare_sqlite(url, reuse)
    else:
        prepare_postgresql(url, reuse)
    say("python manage.py db upgrade")
    upgrade = manage(["db", "upgrade"], env, check=False)
    if upgrade.returncode:
        raise SystemExit("db upgrade failed:\n" + upgrade.stdout + upgrade.stderr)
    if reuse and has_orders(url):
        say("Reusing the existing bench data (--reuse)")
        build["reused"] = True
    else:
        say("python manage.py seed-demo --bench")
        started = time.perf_counter()
        seeded = manage(["seed-demo", "--bench"], env, check=False)
        build["seed_seconds"] = round(time.perf_counter() - started, 2)
        if seeded.returncode:
            raise SystemExit("seed-demo --bench failed:\n" + seeded.stdout + seeded.stderr)
        build["seed_output"] = seeded.stdout.strip()
        say(f"  {seeded.stdout.strip()}")
        say(f"  seed-demo --bench wall time: {build['seed_seconds']:.1f} s")
    created = manage(["create-user", BENCH_USER, "--email", BENCH_EMAIL, "--role", "admin", "--password-stdin",
                      "--totp-secret-stdin"], env, stdin=f"{BENCH_PASSWORD}\n{BENCH_TOTP_SECRET}\n", check=False)
    output = (created.stdout + created.stderr).strip()
    if created.returncode and "already" not in output.lower():
        raise SystemExit("create-user failed:\n" + output)
    say(f"  bench user: {output.splitlines()[-1] if output else 'ok'}")
    return build


def describe_database(url: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """Environment facts about the database, and the ids/usernames the URLs use."""
    from sqlalchemy import create_engine, text

    engine = create_engine(sqlalchemy_url(url))
    info: dict[str, Any] = {}
    picks: dict[str, Any] = {}
    try:
        with engine.connect() as conn:
            if db_kind(url) == "sqlite":
                info["server"] = "SQLite " + conn.execute(text("SELECT sqlite_version()")).scalar()
                path = Path(url[len("sqlite:///"):])
                info["file_mb"] = round(path.stat().st_size / 1e6, 1)
                info["journal_mode"] = conn.execute(text("PRAGMA journal_mode")).scalar()
                info["has_sqlite_stat1"] = bool(conn.execute(text(
                    "SELECT count(*) FROM sqlite_master WHERE name = 'sqlite_stat1'")).scalar())
            else:
                info["server"] = conn.execute(text("SELECT version()")).scalar().split(" on ")[0]
                info["size_mb"] = round(conn.execute(text("SELECT pg_database_size(current_database())")).scalar()
                                        / 1e6, 1)
            counts = {}
            for label, sql in (
                ("customers", "SELECT count(*) FROM users WHERE type = 'customer'"),
                ("employees", "SELECT count(*) FROM users WHERE type = 'employee'"),
                ("addresses", "SELECT count(*) FROM addresses"),
                ("products", "SELECT count(*) FROM products"),
                ("orders", "SELECT count(*) FROM orders"),
                ("order_items", "SELECT count(*) FROM order_items"),
            ):
                counts[label] = conn.execute(text(sql)).scalar()
            info["rows"] = counts
            picks["username"] = conn.execute(text(
                "SELECT username FROM users WHERE type = 'customer' AND id >= 12345 ORDER BY id LIMIT 1")).scalar()
            picks["order_id"] = conn.execute(text(
                "SELECT id FROM orders WHERE id >= :n AND deleted_at IS NULL ORDER BY id LIMIT 1"),
                {"n": max(1, counts["orders"] // 2)}).scalar()
            picks["live_orders"] = conn.execute(text("SELECT count(*) FROM orders WHERE deleted_at IS NULL")).scalar()
    finally:
        engine.dispose()
    return info, picks


def order_date_sort_index() -> int:
    """Flask-Admin's ``?sort=N`` is the column's index in ``column_list``."""
    try:
        from admin_app.sales.views import OrderView

        return list(OrderView.column_list).index("order_date")
    except Exception:  # fall back to today's position
        return 1


# --------------------------------------------------------------------------- the server


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def children_of(pid: int) -> list[int]:
    try:
        return [int(p) for p in Path(f"/proc/{pid}/task/{pid}/children").read_text().split()]
    except OSError:
        found = []
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                found.append(int(stat.parent.name))
        return found


def proc_status_kb(pid: int, key: str) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(key + ":"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


class Server:
    """gunicorn with one sync worker, serving ``bench.sql_counter:app``."""

    def __init__(self, env: dict[str, str], port: int, log_path: Path) -> None:
        self.env, self.port, self.log_path = env, port, log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.log = open(self.log_path, "wb")  # closed in stop()
        command = [sys.executable, "-m", "gunicorn", "-w", "1", "-k", "sync", "-b", f"127.0.0.1:{self.port}",
                   "--timeout", "300", "--access-logfile", "-", "bench.sql_counter:app"]
        say("$ " + " ".join(command[2:]))
        # Its own session: a Ctrl-C in the terminal reaches only us; stop() ends it.
        self.process = subprocess.Popen(command, cwd=ROOT, env=self.env, stdout=self.log, stderr=subprocess.STDOUT,
                                        start_new_session=True)
        self.wait_ready()

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process is None or self.process.poll() is not None:
                raise SystemExit(f"gunicorn exited; see {self.log_path}")
            try:
                conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=5)
                conn.request("GET", LAST_PATH)
                conn.getresponse().read()
                conn.close()
                if self.worker_pid():
                    return
            except OSError:
                pass
            time.sleep(0.2)
        raise SystemExit(f"gunicorn did not answer within {timeout:.0f} s; see {self.log_path}")

    def worker_pid(self) -> int | None:
        if self.process is None:
            return None
        workers = children_of(self.process.pid)
        return workers[0] if workers else None

    def kill_worker(self) -> None:
        """After a client-side timeout the worker is still busy: replace it (gunicorn's master
        starts a new one) so the next measurement does not queue behind it."""
        pid = self.worker_pid()
        if pid:
            os.kill(pid, signal.SIGKILL)
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and self.worker_pid() in (pid, None):
                time.sleep(0.2)
        self.wait_ready()

    def stop(self) -> None:
        if self.process is None:
            return
        stop_gunicorn(self.process, children_of(self.process.pid), grace_seconds=15)
        self.process = None
        self.log.close()


def stop_gunicorn(process: subprocess.Popen[bytes], workers: list[int], grace_seconds: float) -> None:
    """Stop gunicorn (TERM, then KILL after ``grace_seconds``), and any worker it left behind."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=grace_seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    for pid in workers:
        if Path(f"/proc/{pid}").exists():
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass


# --------------------------------------------------------------------------- the client


@dataclass
class Reply:
    status: int
    seconds: float
    first_byte_seconds: float
    size: int
    headers: http.client.HTTPMessage
    body: bytes = b""
    newlines: int = 0


def csrf_token_in(body: bytes) -> re.Match[bytes] | None:
    return re.search(rb'name="csrf_token"[^>]*value="([^"]+)"', body) or re.search(
        rb'value="([^"]+)"[^>]*name="csrf_token"', body)


class Client:
    """A minimal browser: one connection per request (a sync worker closes it anyway),
    cookies kept, redirects not followed (a redirect to /login is a failure to report)."""

    def __init__(self, port: int, timeout: float) -> None:
        self.port, self.timeout = port, timeout
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None,
                keep_body: bool = True) -> Reply:
        headers = dict(headers or {})
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        started = time.perf_counter()
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=self.timeout)
        try:
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            first_byte = time.perf_counter() - started
            chunks: list[bytes] = []
            size = newlines = 0
            while chunk := response.read(65536):
                size += len(chunk)
                if keep_body:
                    chunks.append(chunk)
                else:
                    newlines += chunk.count(b"\n")
            elapsed = time.perf_counter() - started
        finally:
            conn.close()
        self._remember_cookies(response.headers)
        return Reply(response.status, elapsed, first_byte, size, response.headers, b"".join(chunks), newlines)

    def _remember_cookies(self, headers: http.client.HTTPMessage) -> None:
        for raw in headers.get_all("Set-Cookie") or []:
            jar = http.cookies.SimpleCookie()
            jar.load(raw)
            for name, morsel in jar.items():
                expired = morsel["max-age"] == "0" or (morsel["expires"] and "1970" in morsel["expires"])
                if expired or morsel.value == "":
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value

    def login(self, username: str, password: str) -> None:
        page = self.request("GET", "/login")
        match = csrf_token_in(page.body)
        if page.status != 200 or not match:
            raise SystemExit(f"GET /login: status {page.status}, csrf_token found: {bool(match)}")
        form = urlencode({"username": username, "password": password, "csrf_token": match.group(1).decode()})
        reply = self.request("POST", "/login", body=form.encode(),
                             headers={"Content-Type": "application/x-www-form-urlencoded"})
        if reply.status == 302 and (reply.headers.get("Location") or "").endswith("/login/two-factor"):
            reply = self.second_factor()
        if reply.status != 302 or "/login" in (reply.headers.get("Location") or ""):
            raise SystemExit(f"POST /login failed: status {reply.status}, Location {reply.headers.get('Location')}")
        check = self.request("GET", "/admin/")
        if check.status != 200:
            raise SystemExit(f"signed in, but GET /admin/ answered {check.status}")

    def second_factor(self) -> Any:
        """The second sign-in step, with the bench admin's current TOTP code; a code is
        accepted once, so when the previous run signed in within the same 30 s window, the
        next window's code."""
        totp = pyotp.TOTP(BENCH_TOTP_SECRET)
        for attempt in range(2):
            page = self.request("GET", "/login/two-factor")
            match = csrf_token_in(page.body)
            form = urlencode({"code": totp.now(), "csrf_token": match.group(1).decode() if match else ""})
            reply = self.request("POST", "/login/two-factor", body=form.encode(),
                                 headers={"Content-Type": "application/x-www-form-urlencoded"})
            if reply.status == 302 or attempt:
                return reply
            wait = totp.interval - time.time() % totp.interval + 1
            say(f"  second factor: this window's code was used already; waiting {wait:.0f} s for the next")
            time.sleep(wait)
        return reply

    def last(self) -> dict[str, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            conn.request("GET", LAST_PATH)
            return json.loads(conn.getresponse().read() or b"{}")
        finally:
            conn.close()


# --------------------------------------------------------------------------- measuring


@dataclass
class Measurement:
    name: str
    path: str
    status: int | None = None
    times_ms: list[float] = field(default_factory=list)
    sizes: list[int] = field(default_factory=list)
    statements: list[int] = field(default_factory=list)
    sql_ms: list[float] = field(default_factory=list)
    note: str = ""
    slowest: list[dict[str, Any]] = field(default_factory=list)
    extra: dict[str, Any] = field(default_factory=dict)

    def summary(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "path": self.path, "status": self.status, "runs": len(self.times_ms),
                               "note": self.note}
        if self.times_ms:
            out.update(
                median_ms=round(statistics.median(self.times_ms), 1),
                p95_ms=round(percentile(self.times_ms, 0.95), 1),
                min_ms=round(min(self.times_ms), 1),
                max_ms=round(max(self.times_ms), 1),
                bytes=int(statistics.median(self.sizes)),
                sql_statements=int(statistics.median(self.statements)) if self.statements else None,
                sql_ms_median=round(statistics.median(self.sql_ms), 1) if self.sql_ms else None,
            )
        return out


def measure_page(client: Client, server: Server, name: str, path: str, warmup: int, runs: int,
                 slow_seconds: float) -> Measurement:
    result = Measurement(name, path)
    for index in range(warmup + runs):
        timed = index >= warmup
        try:
            reply = client.request("GET", path, keep_body=False)
        except TimeoutError:
            result.note = f"no answer within {client.timeout:.0f} s (client timeout); worker replaced"
            result.times_ms.append(client.timeout * 1000)
            server.kill_worker()
            break
        result.status = reply.status
        if reply.status != 200:
            location = reply.headers.get("Location")
            result.note = f"HTTP {reply.status}" + (f" -> {location}" if location else "")
            result.times_ms.append(reply.seconds * 1000)
            result.sizes.append(reply.size)
            break
        details = client.last()
        if timed or reply.seconds > slow_seconds:
            result.times_ms.append(reply.seconds * 1000)
            result.sizes.append(reply.size)
            result.statements.append(int(details.get("statements", reply.headers.get("X-SQL-Statements", -1))))
            result.sql_ms.append(float(details.get("sql_ms", 0.0)))
            result.slowest = details.get("slowest", [])
        if reply.seconds > slow_seconds:
            result.note = f"slower than {slow_seconds:.0f} s: measured once"
            result.slowest = details.get("slowest", [])
            break
    return result


class RSSSampler(threading.Thread):
    """Samples a process's VmRSS every few milliseconds (a back-up for VmHWM), and its
    RssAnon: the worker's own memory, without the file pages it maps (SQLite reads the
    database through a memory map, and those pages count in VmRSS too)."""

    def __init__(self, pid: int, interval: float = 0.02) -> None:
        super().__init__(daemon=True)
        self.pid, self.interval, self.peak_kb, self.peak_anon_kb = pid, interval, 0, 0
        self.done = threading.Event()

    def run(self) -> None:
        while not self.done.is_set():
            rss = proc_status_kb(self.pid, "VmRSS")
            if rss:
                self.peak_kb = max(self.peak_kb, rss)
            anon = proc_status_kb(self.pid, "RssAnon")
            if anon:
                self.peak_anon_kb = max(self.peak_anon_kb, anon)
            self.done.wait(self.interval)


def explain(url: str, statement: str, params: Any) -> dict[str, Any]:
    """Replay one captured statement with the parameters it ran with: its plan, and the time
    to run it and fetch every row outside the app (SQLite: EXPLAIN QUERY PLAN, then a timed
    execute + fetchall; PostgreSQL: EXPLAIN (ANALYZE, BUFFERS))."""
    try:
        if db_kind(url) == "sqlite":
            conn = sqlite3.connect(f"file:{url[len('sqlite:///'):]}?mode=ro", uri=True)
            try:
                plan = [row[3] for row in conn.execute("EXPLAIN QUERY PLAN " + statement, params or ()).fetchall()]
                started = time.perf_counter()
                rows = len(conn.execute(statement, params or ()).fetchall())
                return {"plan": plan, "replay_ms": round((time.perf_counter() - started) * 1000, 1), "rows": rows}
            finally:
                conn.close()
        import psycopg

        parts = pg_parts(url)
        with psycopg.connect(host=parts["host"], port=parts["port"], user=parts["user"],
                             dbname=parts["database"]) as conn:
            plan = [row[0] for row in conn.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params or None)]
            conn.rollback()
        total = next((line for line in reversed(plan) if line.startswith("Execution Time")), "")
        replay = float(total.split(":")[1].split()[0]) if total else None
        return {"plan": plan, "replay_ms": replay}
    except Exception as error:  # a plan is a nice-to-have
        return {"plan": [f"(no plan: {type(error).__name__}: {str(error).splitlines()[0][:200]})"], "replay_ms": None}


# --------------------------------------------------------------------------- environment, output


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for name in ("Flask", "Flask-Admin", "Flask-SQLAlchemy", "SQLAlchemy", "gunicorn", "psycopg", "Werkzeug"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "?"


def git_revision() -> str:
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True,
                              check=True).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"], cwd=ROOT,
                               capture_output=True, text=True, check=True).stdout.strip()
        return head + (" (+ uncommitted changes)" if dirty else "")
    except (OSError, subprocess.CalledProcessError):
        return "?"


def print_table(rows: list[dict[str, Any]]) -> None:
    headers = ("page", "status", "median ms", "p95 ms", "bytes", "SQL stmts", "SQL exec ms", "runs", "note")
    lines = []
    for row in rows:
        lines.append((
            row["name"], str(row["status"] if row["status"] is not None else "-"),
            f"{row['median_ms']:,.1f}" if "median_ms" in row else "-",
            f"{row['p95_ms']:,.1f}" if "p95_ms" in row else "-",
            f"{row['bytes']:,}" if "bytes" in row else "-",
            str(row.get("sql_statements", "-")),
            f"{row['sql_ms_median']:,.1f}" if row.get("sql_ms_median") is not None else "-",
            str(row["runs"]), row["note"],
        ))
    widths = [max(len(h), *(len(line[i]) for line in lines)) for i, h in enumerate(headers)]
    right = {1, 2, 3, 4, 5, 6, 7}

    def fmt(cells: tuple[str, ...]) -> str:
        return "  ".join(c.rjust(w) if i in right else c.ljust(w) for i, (c, w) in enumerate(zip(cells, widths)))

    say(fmt(headers))
    say(fmt(tuple("-" * w for w in widths)))
    for line in lines:
        say(fmt(line).rstrip())


# --------------------------------------------------------------------------- main


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--database-url", default=DEFAULT_DB,
                        help=f"default {DEFAULT_DB}; or postgresql://postgres@127.0.0.1:5432/bench")
    parser.add_argument("--reuse", action="store_true", help="keep an existing bench database (else rebuilt)")
    parser.add_argument("--runs", type=int, default=15, help="timed runs per page (default 15)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed runs first (default 3)")
    parser.add_argument("--timeout", type=float, default=120.0, help="per-request client timeout, s (default 120)")
    parser.add_argument("--slow", type=float, default=30.0,
                        help="a page slower than this (s) is measured once (default 30)")
    parser.add_argument("--only", help="comma-separated page names (substrings) to run")
    parser.add_argument("--port", type=int, default=0, help="gunicorn port (default: a free one)")
    args = parser.parse_args(argv)

    url = resolve_database_url(args.database_url)
    kind = db_kind(url)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    RESULTS.mkdir(parents=True, exist_ok=True)
    DATA.mkdir(parents=True, exist_ok=True)
    env = {"TWO_FACTOR_ENCRYPTION_KEY": BENCH_TWO_FACTOR_KEY, **os.environ, "DATABASE_URL": url,
           "SECRET_KEY": secrets.token_hex(32), "RATELIMIT_STORAGE_URI": "memory://", "PYTHONUNBUFFERED": "1"}
    env.pop("FLASK_DEBUG", None)

    say(f"== Bench database: {url}")
    build = build_database(url, args.reuse, env)
    db_info, picks = describe_database(url)
    sort_index = order_date_sort_index()

    environment = {
        "when": stamp, "cpu_count": os.cpu_count(), "cpu": cpu_model(),
        "memory_gb": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "python": platform.python_version(), "platform": platform.platform(), "sqlite_library": sqlite3.sqlite_version,
        "packages": package_versions(), "git": git_revision(), "database": db_info,
    }
    say("\n== Environment")
    say(f"  CPU: {environment['cpu_count']} x {environment['cpu']}, RAM {environment['memory_gb']} GB")
    say(f"  Python {environment['python']} on {environment['platform']}")
    say("  " + ", ".join(f"{k} {v}" for k, v in environment["packages"].items()))
    say(f"  Database: {db_info['server']}" + (f", file {db_info['file_mb']} MB, journal {db_info['journal_mode']},"
                                              f" sqlite_stat1: {db_info['has_sqlite_stat1']}" if kind == "sqlite"
                                              else f", {db_info['size_mb']} MB"))
    say("  Rows: " + ", ".join(f"{v:,} {k}" for k, v in db_info["rows"].items()))
    say(f"  Code: git {environment['git']}")
    if build.get("seed_seconds") is not None:
        say(f"  seed-demo --bench: {build['seed_seconds']:.1f} s wall")

    pages = [
        ("orders, page 1", "/admin/order/"),
        ("orders, page 5,000", "/admin/order/?page=4999"),
        ("orders, date ascending", f"/admin/order/?sort={sort_index}"),
        (f"orders, search {picks['username']}", "/admin/order/?search=" + quote(picks["username"])),
        ("orders, search by name obrien", "/admin/order/?search=obrien"),  # a person's normalised key (issue 22)
        ("customers, search by name emile", "/admin/customer/?search=emile"),
        ("order items", "/admin/orderitem/"),
        ("products", "/admin/product/"),
        ("customers", "/admin/customer/"),
        (f"order edit form (id {picks['order_id']})", f"/admin/order/edit/?id={picks['order_id']}"),
        ("dashboard", "/admin/"),
    ]
    if args.only:
        wanted = [w.strip().lower() for w in args.only.split(",") if w.strip()]
        pages = [p for p in pages if any(w in p[0].lower() for w in wanted)]

    log_path = RESULTS / f"{stamp}-{kind}-gunicorn.log"
    server = Server(env, args.port or free_port(), log_path)
    measurements: list[Measurement] = []
    previous_term = signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    try:
        say("\n== Serving")
        server.start()
        say(f"  worker pid {server.worker_pid()}, log {log_path.relative_to(ROOT)}")
        client = Client(server.port, args.timeout)
        client.login(BENCH_USER, BENCH_PASSWORD)
        say(f"  signed in as {BENCH_USER!r} through /login")
        say(f"\n== Timing: {args.warmup} warm-up + {args.runs} timed runs per page")
        for name, path in pages:
            started = time.perf_counter()
            measured = measure_page(client, server, name, path, args.warmup, args.runs, args.slow)
            measurements.append(measured)
            summary = measured.summary()
            say(f"  {name:<40} {summary.get('median_ms', '-'):>9} ms median  "
                f"({time.perf_counter() - started:.1f} s) {measured.note}")
        rss_end = proc_status_kb(server.worker_pid() or 0, "VmRSS")
    finally:
        server.stop()
        signal.signal(signal.SIGTERM, previous_term)

    summaries = [m.summary() for m in measurements]
    say(f"\n== Results ({kind}; {args.runs} timed runs after {args.warmup} warm-up; times are client wall "
        "times in ms)")
    print_table(summaries)
    for m in measurements:
        if m.extra.get("runs"):
            peak = max(r["peak_increase_mb"] for r in m.extra["runs"])
            anon_peak = max(r["anon_peak_increase_mb"] for r in m.extra["runs"])
            lines = m.extra["runs"][-1]["lines"]
            mapped = ", the rest pages of the memory-mapped database file" if kind == "sqlite" else ""
            say(f"\n  {m.name}: {lines - 1:,} data rows; worker peak RSS increase up to +{peak} MB, of which "
                f"its own memory (RssAnon) +{anon_peak} MB{mapped} "
                f"(worker RSS at the end {round((rss_end or 0) / 1024, 1)} MB)")

    # Where the time goes on the slow pages: their heaviest statements replayed, with plans.
    say(f"\n== Heaviest SQL of the pages slower than {EXPLAIN_PAGES_OVER_MS:.0f} ms, replayed outside the app "
        "(execute + fetch all rows)")
    plans: dict[str, list[dict[str, Any]]] = {}
    for m in sorted(measurements, key=lambda m: -(statistics.median(m.times_ms) if m.times_ms else 0)):
        if not m.times_ms or statistics.median(m.times_ms) < EXPLAIN_PAGES_OVER_MS:
            continue
        for statement in m.slowest[:3]:
            if not statement["sql"].lstrip().upper().startswith("SELECT"):
                continue
            replay = explain(url, statement["sql"], statement.get("params"))
            if replay.get("replay_ms") is not None and replay["replay_ms"] < EXPLAIN_OVER_MS:
                continue
            plans.setdefault(m.name, []).append({**statement, **replay})
            rows = f", {replay['rows']:,} rows" if "rows" in replay else ""
            say(f"\n  [{m.name}] replayed {replay.get('replay_ms')} ms{rows} (execute in the app "
                f"{statement['ms']:,.1f} ms):\n    {statement['sql'][:500]}"
                + (" ..." if len(statement["sql"]) > 500 else ""))
            for line in replay["plan"][:24]:
                say(f"      {line}")

    out = RESULTS / f"{stamp}-{kind}.json"
    out.write_text(json.dumps({
        "environment": environment, "build": build, "database_url": url, "picks": picks,
        "settings": {"runs": args.runs, "warmup": args.warmup, "timeout_s": args.timeout, "slow_s": args.slow},
        "results": summaries,
        "raw": [{"name": m.name, "times_ms": [round(t, 2) for t in m.times_ms], "statements": m.statements,
                 "sql_ms": m.sql_ms, "slowest": m.slowest, **m.extra} for m in measurements],
        "plans": plans,
    }, indent=2, default=str))
    say(f"\nWritten {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        say("\ninterrupted (gunicorn stopped)")
        sys.exit(130)
