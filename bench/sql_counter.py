"""The back office wrapped for benchmarking: counts (and times) SQL statements per request.

Served by ``bench/run.py`` as ``gunicorn bench.sql_counter:app``; nothing in ``admin_app``
knows about it. A ``before/after_cursor_execute`` listener on the app's engines counts every
statement of the current request. The WSGI middleware around the app

- resets the counter when a request starts,
- adds ``X-SQL-Statements`` and ``X-SQL-Ms`` to the response headers (statements run before
  the headers went out: everything for an ordinary page),
- and, when the body has been sent and closed, keeps the request's final figures (statements
  run while a streamed body was generated included, such as a CSV export's batches) with
  its slowest statements, served as JSON at ``GET /__bench__/last`` (for the previous
  request; answered by the middleware itself, no database or login involved).

Only for a sync worker (one request at a time per process), which is what ``run.py`` starts.
"""

from __future__ import annotations

import json
import time
from typing import Any

from sqlalchemy import event

from admin_app import create_app
from admin_app.extensions import db

LAST_PATH = "/__bench__/last"
TOP_STATEMENTS = 5
STATEMENT_CHARS = 20_000


class _Counter:
    def __init__(self) -> None:
        self.reset()
        self.last: dict[str, Any] = {}

    def reset(self) -> None:
        self.count = 0
        self.sql_seconds = 0.0
        self.statements: list[tuple[float, str, Any]] = []
        self._started: float | None = None

    def before(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
               executemany: bool) -> None:
        self.count += 1
        self._started = time.perf_counter()

    def after(self, conn: Any, cursor: Any, statement: str, parameters: Any, context: Any,
              executemany: bool) -> None:
        if self._started is None:
            return
        elapsed = time.perf_counter() - self._started
        self._started = None
        self.sql_seconds += elapsed
        self.statements.append((elapsed, statement, parameters))

    def snapshot(self, path: str, status: str, seconds: float, body_bytes: int) -> dict[str, Any]:
        slowest = sorted(self.statements, key=lambda s: s[0], reverse=True)[:TOP_STATEMENTS]
        return {
            "path": path, "status": status, "statements": self.count,
            "sql_ms": round(self.sql_seconds * 1000, 2), "wall_ms": round(seconds * 1000, 2),
            "body_bytes": body_bytes,
            # Fetch time of a streamed result is not in the cursor execute time.
            "slowest": [{"ms": round(s * 1000, 2), "sql": " ".join(sql.split())[:STATEMENT_CHARS],
                         "params": _plain(params)}
                        for s, sql, params in slowest],
        }


def _plain(value: Any) -> Any:
    """Bound parameters as JSON (so ``run.py`` can EXPLAIN the statement with them)."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value][:1000]
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


class _Body:
    """Passes the body through, counting bytes; records the request's final figures on close."""

    def __init__(self, iterable: Any, finish: Any) -> None:
        self.iterable, self.finish, self.size = iterable, finish, 0

    def __iter__(self) -> Any:
        for chunk in self.iterable:
            self.size += len(chunk)
            yield chunk

    def close(self) -> None:
        try:
            close = getattr(self.iterable, "close", None)
            if close is not None:
                close()
        finally:
            self.finish(self.size)


class SQLCountingMiddleware:
    def __init__(self, wsgi_app: Any, counter: _Counter) -> None:
        self.wsgi_app, self.counter = wsgi_app, counter

    def __call__(self, environ: dict[str, Any], start_response: Any) -> Any:
        path = environ.get("PATH_INFO", "")
        if path == LAST_PATH:
            body = json.dumps(self.counter.last).encode()
            start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
            return [body]
        counter = self.counter
        counter.reset()
        started = time.perf_counter()
        seen: dict[str, str] = {}

        def counting_start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Any:
            seen["status"] = status
            headers = [*headers, ("X-SQL-Statements", str(counter.count)),
                       ("X-SQL-Ms", f"{counter.sql_seconds * 1000:.2f}")]
            return start_response(status, headers, exc_info) if exc_info else start_response(status, headers)

        def finish(size: int) -> None:
            query = environ.get("QUERY_STRING", "")
            counter.last = counter.snapshot(path + ("?" + query if query else ""), seen.get("status", ""),
                                            time.perf_counter() - started, size)

        return _Body(self.wsgi_app(environ, counting_start_response), finish)


def create_bench_app() -> Any:
    flask_app = create_app()
    counter = _Counter()
    with flask_app.app_context():
        for engine in db.engines.values():
            event.listen(engine, "before_cursor_execute", counter.before)
            event.listen(engine, "after_cursor_execute", counter.after)
    flask_app.wsgi_app = SQLCountingMiddleware(flask_app.wsgi_app, counter)  # type: ignore[method-assign]
    return flask_app


app = create_bench_app()
