"""The admin_app back office: ``create_app`` builds a configured Flask application."""

from __future__ import annotations

from typing import Any

from flask import Flask

from admin_app.accounts.auth.session import register_session_loading
from admin_app.accounts.auth.two_factor_views import register_two_factor
from admin_app.accounts.auth.views import bp as auth_bp
from admin_app.accounts.auth.views import register_login_manager, too_many_attempts
from admin_app.admin import init_admin
from admin_app.audit.services import register_audit_listeners
from admin_app.commands import cli_commands
from admin_app.config import INSTANCE_PATH, PROJECT_ROOT, Config
from admin_app.core.database import register_sqlite_pragmas, sqlite_engine_options
from admin_app.core.error_pages import register_error_pages
from admin_app.core.i18n import register_i18n
from admin_app.core.observability import configure_logging, health, register_request_ids
from admin_app.core.security import register_proxy_fix, register_request_limits, register_security_headers
from admin_app.core.tasks import register_task_queue
from admin_app.extensions import csrf, db, limiter, login_manager, migrate


def create_app(config: type | dict[str, Any] | None = None) -> Flask:
    """Build the app. ``config`` is a config class or a dict of overrides (tests use both)."""
    app = Flask(
        __name__,
        template_folder=str(PROJECT_ROOT / "templates"),
        static_folder=str(PROJECT_ROOT / "static"),
        instance_path=str(INSTANCE_PATH),
    )
    load_config(app, config)
    register_logging(app)
    register_request_handling(app)
    register_extensions(app)
    register_task_queue(app)
    register_blueprints(app)
    register_admin(app)
    register_security(app)
    register_errorhandlers(app)
    register_commands(app)
    register_shell_context(app)
    return app


def load_config(app: Flask, config: type | dict[str, Any] | None) -> None:
    """Defaults from :class:`Config` (the environment), then the caller's overrides."""
    app.config.from_object(Config)
    if isinstance(config, dict):
        app.config.update(config)
    elif config is not None:
        app.config.from_object(config)
    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
        **sqlite_engine_options(app.config["SQLALCHEMY_DATABASE_URI"], app.config["SQLITE_BUSY_TIMEOUT"]),
    }
    INSTANCE_PATH.mkdir(exist_ok=True)


def register_logging(app: Flask) -> None:
    """JSON log lines carrying each request's id (see :mod:`admin_app.core.observability`)."""
    configure_logging(app)
    register_request_ids(app)


def register_request_handling(app: Flask) -> None:
    """Before any extension reads a request: the client's address behind trusted proxies,
    and the body size a view accepts (CSRFProtect reads the form in its own hook)."""
    register_proxy_fix(app)
    register_request_limits(app)


def register_extensions(app: Flask) -> None:
    """Bind the unbound instances from :mod:`admin_app.extensions`. Every model is already
    on the metadata: the admin registration above imports each domain's views and models."""
    db.init_app(app)
    register_i18n(app)
    register_sqlite_pragmas()
    register_audit_listeners()
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)


def register_blueprints(app: Flask) -> None:
    """Plain Flask views outside the admin (login, health check)."""
    app.register_blueprint(auth_bp)
    app.register_blueprint(health)
    # Browsers ask for /favicon.ico whatever the page links.
    app.add_url_rule("/favicon.ico", "favicon", lambda: app.send_static_file("favicon.ico"))
    register_login_manager()
    register_session_loading(app)
    register_two_factor(app)  # after the session loading: it holds employees at enrolment


def register_admin(app: Flask) -> None:
    """Flask-Admin with every model view (see :func:`admin_app.admin.register_views`)."""
    init_admin(app)


def register_security(app: Flask) -> None:
    """Security headers and CSP on every response."""
    register_security_headers(app)


def register_errorhandlers(app: Flask) -> None:
    """Friendly error pages that never show a stack trace or SQL; a throttled sign-in's 429."""
    register_error_pages(app)
    app.register_error_handler(429, too_many_attempts)


def register_commands(app: Flask) -> None:
    """``flask``/``manage.py`` commands: thin wrappers over :mod:`admin_app.commands`."""
    for command in cli_commands:
        app.cli.add_command(command)


def register_shell_context(app: Flask) -> None:
    """``flask shell`` starts with ``db`` and every model."""

    @app.shell_context_processor
    def shell_context() -> dict[str, Any]:
        return {"db": db, **{mapper.class_.__name__: mapper.class_ for mapper in db.Model.registry.mappers}}
