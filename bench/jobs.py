#!/usr/bin/env python
"""Benchmark export jobs on the task queue: prints figures (not a test).

Builds (or with ``--reuse`` keeps) a database with the project's CLI, serves the app with
gunicorn (1 sync worker, ``bench.sql_counter:app``) and starts one ``manage.py worker`` at
``nice -n 10`` on a Redis queue, signs in, and then:

1. times the order list while nothing else runs (the idle median);
2. starts each export as a job from its list's URL, and until it is done keeps timing the
   order list, polls the job's progress and samples the worker's memory;
3. prints per job: rows, seconds, rows per second, the worker's peak RSS and RssAnon, the
   file's size, and the order list's median while the job ran beside the idle one.

    python bench/jobs.py --database-url postgresql://postgres@127.0.0.1:5432/jobs \\
        --orders 2000000 --items-per-order 5          # 10,000,000 order items, rebuilt
    python bench/jobs.py --database-url postgresql://postgres@127.0.0.1:5432/jobs --reuse

Results also go to ``bench/results/<timestamp>-jobs-<db>.json``.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import secrets
import signal
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

BENCH_DIR = Path(__file__).resolve().parent
if str(BENCH_DIR) not in sys.path:
    sys.path.insert(0, str(BENCH_DIR))

import run as bench  # noqa: E402 - bench/run.py: client, server, database helpers
from run import ROOT, Client, RSSSampler, free_port, manage, say  # noqa: E402

QUEUE_URL = "redis://127.0.0.1:6379/5"
XLSX_ROWS = 1_000_000
LIST = "/admin/order/"


def build(url: str, env: dict[str, str], args: argparse.Namespace) -> None:
    """The database: bench's own build, or seed-demo at the sizes asked."""
    if args.reuse and bench.has_orders(url) or not (args.orders or args.items_per_order):
        bench.build_database(url, args.reuse, env)
        return
    if bench.db_kind(url) == "sqlite":
        bench.prepare_sqlite(url, reuse=False)
    else:
        bench.prepare_postgresql(url, reuse=False)
    manage(["db", "upgrade"], env)
    sizes = ["--customers", "50000", "--products", "10000", "--orders", str(args.orders),
             "--items-per-order", str(args.items_per_order)]
    say("python manage.py seed-demo " + " ".join(sizes))
    started = time.perf_counter()
    seeded = manage(["seed-demo", *sizes], env)
    say(f"  {seeded.stdout.strip()} ({time.perf_counter() - started:.0f} s)")
    bench.build_database(url, True, env)  # the bench admin


def xlsx_filter(env: dict[str, str], url: str) -> str:
    """The order-item list's filter "order id smaller than N" keeping about XLSX_ROWS rows."""
    from sqlalchemy import create_engine, text

    engine = create_engine(bench.sqlalchemy_url(url))
    with engine.connect() as connection:
        bound = connection.scalar(text("SELECT order_id + 1 FROM order_items ORDER BY order_id LIMIT 1 OFFSET :n"),
                                  {"n": XLSX_ROWS - 1})
    engine.dispose()
    if bound is None:  # fewer order items than that: all of them
        return ""
    os.environ.update(env)
    from admin_app import create_app  # the app's own filter arguments (flt0_<index>)

    app = create_app()
    view = next(v for v in app.extensions["admin"][0]._views if getattr(v, "endpoint", None) == "orderitem")
    arg = next(a for a, (_i, flt) in view._filter_args.items()
               if str(flt.name) == "Order number" and str(flt.operation()) == "smaller than")
    return urlencode({f"flt0_{arg}": str(bound or 0)})


def start_job(client: Client, path: str) -> int:
    reply = client.request("GET", path)
    location = reply.headers.get("Location") or ""
    match = re.search(r"highlight=(\d+)", location)
    if reply.status != 302 or not match:
        raise SystemExit(f"GET {path}: expected a job, got {reply.status} {location}")
    return int(match.group(1))


def job_state(client: Client, job_id: int) -> dict[str, Any]:
    reply = client.request("GET", "/admin/exports/status.json")
    return next(job for job in json.loads(reply.body) if job["id"] == job_id)


def list_once(client: Client) -> float:
    reply = client.request("GET", LIST, keep_body=False)
    if reply.status != 200:
        raise SystemExit(f"GET {LIST}: {reply.status}")
    return reply.seconds * 1000


def run_job(client: Client, name: str, path: str, worker_pid: int) -> dict[str, Any]:
    say(f"\n== {name}: {path}")
    sampler = RSSSampler(worker_pid, interval=0.2)
    sampler.start()
    started = time.perf_counter()
    job_id = start_job(client, path)
    during: list[float] = []
    state = job_state(client, job_id)
    last_print = 0.0
    while not state["finished"]:
        during.append(list_once(client))
        time.sleep(0.5)
        state = job_state(client, job_id)
        if time.perf_counter() - last_print > 10:
            last_print = time.perf_counter()
            say(f"  {state['rows_done']:,} of {state['rows_total'] or 0:,} rows ({state['percent']} %)")
    seconds = time.perf_counter() - started
    sampler.done.set()
    sampler.join()
    if state["status"] != "done":
        raise SystemExit(f"job {job_id} ended {state['status']}")
    download = client.request("GET", f"/admin/exports/{job_id}/download", keep_body=False)
    result = {"name": name, "path": path, "job": job_id, "rows": state["rows_done"], "seconds": round(seconds, 1),
              "rows_per_second": round(state["rows_done"] / seconds), "file_bytes": download.size,
              "worker_peak_rss_mb": round(sampler.peak_kb / 1024, 1),
              "worker_peak_anon_mb": round(sampler.peak_anon_kb / 1024, 1),
              "list_median_ms_during": round(statistics.median(during), 1) if during else None,
              "list_samples_during": len(during)}
    say(f"  done: {result['rows']:,} rows in {result['seconds']} s ({result['rows_per_second']:,}/s), file "
        f"{result['file_bytes'] / 2**20:.0f} MB, worker peak RSS {result['worker_peak_rss_mb']} MB "
        f"(own memory {result['worker_peak_anon_mb']} MB), order list median while running "
        f"{result['list_median_ms_during']} ms ({len(during)} samples)")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", default=bench.DEFAULT_DB)
    parser.add_argument("--reuse", action="store_true")
    parser.add_argument("--orders", type=int, default=0, help="seed this many orders (default: bench scale)")
    parser.add_argument("--items-per-order", type=int, default=0)
    parser.add_argument("--idle-runs", type=int, default=30)
    parser.add_argument("--only", choices=("csv", "xlsx"), help="one of the two jobs")
    args = parser.parse_args(argv)

    url = bench.resolve_database_url(args.database_url)
    kind = bench.db_kind(url)
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    bench.RESULTS.mkdir(parents=True, exist_ok=True)
    storage = bench.DATA / "exports"
    storage.mkdir(parents=True, exist_ok=True)
    env = {"TWO_FACTOR_ENCRYPTION_KEY": bench.BENCH_TWO_FACTOR_KEY, **os.environ, "DATABASE_URL": url,
           "SECRET_KEY": secrets.token_hex(32), "RATELIMIT_STORAGE_URI": "memory://", "PYTHONUNBUFFERED": "1",
           "TASK_QUEUE_URL": QUEUE_URL, "EXPORT_STORAGE_DIR": str(storage)}
    build(url, env, args)
    jobs = [("order items CSV (all)", "/admin/orderitem/export/csv/")]
    jobs.append((f"order items XLSX (~{XLSX_ROWS:,} rows)", "/admin/orderitem/export/xlsx/?" + xlsx_filter(env, url)))
    if args.only:
        jobs = [job for job in jobs if args.only.upper() in job[0]]

    log_path = bench.RESULTS / f"{stamp}-jobs-{kind}-gunicorn.log"
    server = bench.Server(env, free_port(), log_path)
    worker_log = open(bench.RESULTS / f"{stamp}-jobs-{kind}-worker.log", "wb")
    worker = subprocess.Popen(["nice", "-n", "10", sys.executable, "manage.py", "worker", "--workers", "1"],
                              cwd=ROOT, env=env, stdout=worker_log, stderr=subprocess.STDOUT, start_new_session=True)
    results: dict[str, Any] = {"database_url": url, "when": stamp, "jobs": []}
    try:
        server.start()
        client = Client(server.port, 600)
        client.login(bench.BENCH_USER, bench.BENCH_PASSWORD)
        for _ in range(5):
            list_once(client)
        idle = [list_once(client) for _ in range(args.idle_runs)]
        results["list_median_ms_idle"] = round(statistics.median(idle), 1)
        say(f"\n== Order list, idle: median {results['list_median_ms_idle']} ms ({len(idle)} runs)")
        for name, path in jobs:
            results["jobs"].append(run_job(client, name, path, worker.pid))
    finally:
        server.stop()
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=60)
        worker_log.close()
    out = bench.RESULTS / f"{stamp}-jobs-{kind}.json"
    out.write_text(json.dumps(results, indent=1))
    say(f"\nWritten {out.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
