#!/usr/bin/env python
"""Compare two checkouts of the app page by page, requests interleaved (prints figures).

Serves each checkout with gunicorn (one sync worker, ``bench.sql_counter:app``) on the same
bench database, signs both in, then for each page alternates requests between the two
(A B, B A, ...) so that the machine's drift, which on a shared 2-core VM is larger than the
differences being measured, hits both alike. Prints the median of each round and the
median of the rounds, before and after, and the change.

    git worktree add /tmp/before <commit>        # or any copy of the older tree
    python bench/run.py --reuse                  # builds bench/data/bench.db once (no change to it here)
    python bench/ab.py --before /tmp/before --database-url sqlite:///bench/data/bench.db

The database must already hold bench data and the bench user (``bench/run.py`` makes both);
this script neither migrates nor seeds it.
"""

from __future__ import annotations

import argparse
import http.client
import os
import secrets
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from bench.run import (  # noqa: E402
    BENCH_PASSWORD,
    BENCH_USER,
    DEFAULT_DB,
    LAST_PATH,
    Client,
    children_of,
    free_port,
    resolve_database_url,
    stop_gunicorn,
)

PAGES = (("order items", "/admin/orderitem/"), ("order items, page 500", "/admin/orderitem/?page=500"),
         ("orders", "/admin/order/"), ("orders, search", "/admin/order/?search=anna.vogel12345"),
         ("products", "/admin/product/"), ("customers", "/admin/customer/"), ("dashboard", "/admin/"))


def serve(tree: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], int]:
    port = free_port()
    process = subprocess.Popen([sys.executable, "-m", "gunicorn", "-w", "1", "-k", "sync", "-b", f"127.0.0.1:{port}",
                                "--timeout", "300", "bench.sql_counter:app"], cwd=tree, env=env,
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", LAST_PATH)
            conn.getresponse().read()
            return process, port
        except OSError:
            time.sleep(0.3)
    raise SystemExit(f"gunicorn for {tree} did not answer")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", type=Path, required=True, help="the older checkout")
    parser.add_argument("--after", type=Path, default=ROOT, help="the newer checkout (default: this one)")
    parser.add_argument("--database-url", default=DEFAULT_DB)
    parser.add_argument("--rounds", type=int, default=4)
    parser.add_argument("--per-round", type=int, default=60, help="requests per checkout and round")
    parser.add_argument("--only", help="comma-separated page names (substrings)")
    args = parser.parse_args()
    env = {**os.environ, "DATABASE_URL": resolve_database_url(args.database_url), "SECRET_KEY": secrets.token_hex(32)}
    pages = [p for p in PAGES if not args.only or any(w.strip() in p[0] for w in args.only.split(","))]
    servers = {"before": serve(args.before.resolve(), env), "after": serve(args.after.resolve(), env)}
    try:
        clients = {}
        for name, (_process, port) in servers.items():
            clients[name] = Client(port, 120)
            clients[name].login(BENCH_USER, BENCH_PASSWORD)
        print(f"{args.rounds} rounds of {args.per_round} interleaved requests per checkout; medians in ms")
        for label, path in pages:
            for client in clients.values():  # warm-up
                for _ in range(5):
                    client.request("GET", path)
            medians: dict[str, list[float]] = {"before": [], "after": []}
            for _round in range(args.rounds):
                times: dict[str, list[float]] = {"before": [], "after": []}
                for i in range(args.per_round):
                    for name in (("before", "after") if i % 2 == 0 else ("after", "before")):
                        reply = clients[name].request("GET", path)
                        if reply.status != 200:
                            raise SystemExit(f"{name} {path}: status {reply.status}")
                        times[name].append(reply.seconds * 1000)
                for name, values in times.items():
                    medians[name].append(statistics.median(values))
            before, after = statistics.median(medians["before"]), statistics.median(medians["after"])
            rounds = {name: " ".join(f"{m:6.1f}" for m in values) for name, values in medians.items()}
            print(f"{label:22} before {rounds['before']} | {before:6.1f}   after {rounds['after']} | {after:6.1f}"
                  f"   {100 * (after / before - 1):+6.1f}%", flush=True)
    finally:
        for process, _port in servers.values():
            stop_gunicorn(process, children_of(process.pid), grace_seconds=10)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
