"""gunicorn settings for production: ``gunicorn "admin_app:create_app()"`` reads this file.

Every value can be overridden from the environment (``GUNICORN_CMD_ARGS`` or the
variables below) without editing it.
"""

import multiprocessing
import os

bind = os.environ.get("BIND", f"0.0.0.0:{os.environ.get('PORT', '8000')}")
# Sync workers: each request holds one database connection; 2-4 per core is typical.
workers = int(os.environ.get("WEB_CONCURRENCY", min(4, multiprocessing.cpu_count() * 2)))
worker_class = "sync"
# gunicorn's own default, 30 s: no request runs long since big exports became jobs on the task
# queue (a list's export of more than a thousand rows); a worker silent for longer is stuck.
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = 5
# Recycle workers now and then, so a slow leak cannot grow without bound.
max_requests = 2000
max_requests_jitter = 200
# Each worker opens its own connections after the fork (never share a pool across processes).
preload_app = False
accesslog = "-"
errorlog = "-"
access_log_format = (
    '{"time": "%(t)s", "remote": "%(h)s", "method": "%(m)s", "path": "%(U)s", "status": %(s)s, '
    '"bytes": "%(B)s", "duration_ms": %(M)s, "request_id": "%({x-request-id}o)s"}'
)
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
