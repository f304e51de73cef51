"""The task queue: work that outlives a request (exports as jobs), run by worker processes.

Huey, chosen because it is small, kept, and needs no broker to start: its SQLite storage
(``instance/tasks.db``) is the embedded default, so the Quick start works with nothing
installed; ``TASK_QUEUE_URL=redis://host:6379/0`` puts the queue in Redis for production,
where any number of ``manage.py worker`` processes on any number of machines take from it.
``TASK_QUEUE_IMMEDIATE`` runs each task at once, inside the call that enqueues it (tests).

:data:`huey` is one instance for the whole app (tasks are declared on it at import time);
:func:`register_task_queue` points its storage where the configuration says, and binds the
app whose context every task runs in (:func:`in_app_context`).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any, TypeVar

from flask import Flask, current_app, has_app_context
from huey import Huey
from huey.consumer import Consumer
from huey.storage import MemoryStorage, RedisStorage, SqliteStorage

log = logging.getLogger(__name__)

#: The queue. Its storage is set by :func:`register_task_queue`; until then, in memory.
huey = Huey("admin_app", storage_class=MemoryStorage, utc=True)

_bound: dict[str, Flask] = {}
Task = TypeVar("Task", bound=Callable[..., Any])


def register_task_queue(app: Flask) -> None:
    """Point the queue at the configured storage and bind ``app`` for the tasks."""
    url = app.config.get("TASK_QUEUE_URL") or ""
    immediate = bool(app.config.get("TASK_QUEUE_IMMEDIATE"))
    previous = huey.storage
    huey.immediate = immediate
    if not immediate:
        huey.storage = storage_for(url, Path(app.instance_path))
    if huey.storage is not previous:
        # The storage it replaces lets go of its connection now (Huey's SQLite storage keeps
        # one per thread; left to the garbage collector, Python 3.13 warns of it).
        previous.close()
    _bound["app"] = app


def storage_for(url: str, instance_path: Path) -> Any:
    """The storage ``TASK_QUEUE_URL`` names: Redis for ``redis://``, a SQLite file for
    ``sqlite:///path`` or nothing (``instance/tasks.db``)."""
    if url.startswith(("redis://", "rediss://", "unix://")):
        return RedisStorage(huey.name, url=url)
    if url.startswith("sqlite:///"):
        path = Path(url[len("sqlite:///"):])
    elif url:
        raise ValueError(f"TASK_QUEUE_URL must start with redis:// or sqlite:///, not {url!r}")
    else:
        path = instance_path / "tasks.db"
    path.parent.mkdir(parents=True, exist_ok=True)
    return SqliteStorage(huey.name, filename=str(path))


def bound_app() -> Flask:
    """The app the tasks run in (the one that configured the queue in this process)."""
    try:
        return _bound["app"]
    except KeyError:
        raise RuntimeError("no app bound to the task queue: create_app() first") from None


def in_app_context(function: Task) -> Task:
    """Run the task inside an app context of its own (its own session, removed after): of the
    app at hand when the task runs at once in its caller, else of :func:`bound_app`."""

    @wraps(function)
    def run(*args: Any, **kwargs: Any) -> Any:
        app = current_app._get_current_object() if has_app_context() else bound_app()
        with app.app_context():
            return function(*args, **kwargs)

    return run  # type: ignore[return-value]


def consumer(workers: int = 2, periodic: bool = True) -> Consumer:
    """A consumer of the queue with ``workers`` threads (and the periodic tasks' scheduler)."""
    return huey.create_consumer(workers=workers, worker_type="thread", periodic=periodic,
                                check_worker_health=True, scheduler_interval=1)
