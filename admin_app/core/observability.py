"""Production plumbing: JSON logs with a request id, and ``GET /healthz``.

Every request gets an id (the caller's ``X-Request-ID`` when it is sane, else a new one),
returned in the response header and attached to every log line written while handling it,
so one request can be followed across gunicorn's and the app's logs.
"""

from __future__ import annotations

import json
import logging
import re
import sys
import time
import uuid
from typing import Any

from flask import Blueprint, Flask, Response, g, has_request_context, jsonify, request
from sqlalchemy import text

from admin_app.extensions import csrf, db, limiter

log = logging.getLogger("admin_app.request")
health = Blueprint("health", __name__)
REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")
STANDARD_RECORD_FIELDS = set(vars(logging.makeLogRecord({}))) | {"message", "asctime"}


class JSONFormatter(logging.Formatter):
    """One JSON object per line: time, level, logger, message, request id, extra fields."""

    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": self.formatTime(record, "%Y-%m-%dT%H:%M:%S%z"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
        }
        if has_request_context():
            entry["request_id"] = g.get("request_id")
        for key, value in vars(record).items():
            if key not in STANDARD_RECORD_FIELDS and not key.startswith("_"):
                entry[key] = value
        if record.exc_info:
            entry["exception"] = self.formatException(record.exc_info)
        return json.dumps(entry, default=str, ensure_ascii=False)


def configure_logging(app: Flask) -> None:
    """JSON lines on stderr (unless testing, where pytest captures records itself)."""
    if app.testing or app.config.get("LOG_FORMAT") == "plain":
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JSONFormatter())
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(app.config.get("LOG_LEVEL", "INFO"))


def register_request_ids(app: Flask) -> None:
    @app.before_request
    def assign_request_id() -> None:
        offered = request.headers.get("X-Request-ID", "")
        g.request_id = offered if REQUEST_ID.match(offered) else uuid.uuid4().hex
        g.request_started = time.perf_counter()

    @app.after_request
    def log_request(response: Response) -> Response:
        request_id = g.get("request_id")
        if request_id:
            response.headers["X-Request-ID"] = request_id
            elapsed_ms = (time.perf_counter() - g.get("request_started", time.perf_counter())) * 1000
            log.info("%s %s %s", request.method, request.path, response.status_code,
                     extra={"method": request.method, "path": request.path, "status": response.status_code,
                            "duration_ms": round(elapsed_ms, 1)})
        return response


@health.get("/healthz")
@csrf.exempt
@limiter.exempt
def healthz() -> tuple[Response, int]:
    """200 when the database answers, 503 when it does not (no sign-in needed)."""
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:  # any failure means "not healthy"
        db.session.rollback()
        logging.getLogger("admin_app.health").exception("health check: database unavailable")
        return jsonify(status="unavailable", database="unreachable"), 503
    return jsonify(status="ok", database="ok"), 200
