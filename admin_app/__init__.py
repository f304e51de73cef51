"""The admin_app back office: ``create_app`` builds a configured Flask application."""

from __future__ import annotations

from typing import Any

from flask import Flask

from admin_app.config import INSTANCE_PATH, PROJECT_ROOT, Config


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
    from admin_app.database import sqlite_engine_options

    app.config["SQLALCHEMY_ENGINE_OPTIONS"] = {
        **app.config["SQLALCHEMY_ENGINE_OPTIONS"],
        **sqlite_engine_options(app.config["SQLALCHEMY_DATABASE_URI"], app.config["SQLITE_BUSY_TIMEOUT"]),
    }
    INSTANCE_PATH.mkdir(exist_ok=True)


def register_logging(app: Flask) -> None:
    """JSON log lines carrying each request's id (see :mod:`admin_app.observability`)."""
    from admin_app.observability import configure_logging, register_request_ids

    configure_logging(app)
    register_request_ids(app)


def register_request_handling(app: Flask) -> None:
    """Before any extension reads a request: the client's address behind trusted proxies,
    and the body size a view accepts (CSRFProtect reads the form in its own hook)."""
    from admin_app.security import register_proxy_fix, register_request_limits

    register_proxy_fix(app)
    register_request_limits(app)


def register_extensions(app: Flask) -> None:
    """Bind the unbound instances from :mod:`admin_app.extensions`."""
    from admin_app import models  # noqa: F401 - registers every table on the metadata
    from admin_app.database import register_sqlite_pragmas
    from admin_app.extensions import csrf, db, limiter, login_manager, migrate
    from admin_app.services.audit import register_audit_listeners

    db.init_app(app)
    register_sqlite_pragmas()
    register_audit_listeners()
    migrate.init_app(app, db, directory=str(PROJECT_ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    limiter.init_app(app)
    login_manager.init_app(app)


def register_blueprints(app: Flask) -> None:
    """Plain Flask views outside the admin (login, health check)."""
    from admin_app.auth.session import register_session_loading  # also registers the user loader
    from admin_app.auth.two_factor_views import register_two_factor
    from admin_app.auth.views import bp as auth_bp
    from admin_app.auth.views import register_login_manager
    from admin_app.observability import health

    app.register_blueprint(auth_bp)
    app.register_blueprint(health)
    register_login_manager()
    register_session_loading(app)
    register_two_factor(app)  # after the session loading: it holds employees at enrolment


def register_admin(app: Flask) -> None:
    """Flask-Admin with every model view (see :func:`admin_app.admin.register_views`)."""
    from admin_app.admin import init_admin

    init_admin(app)


def register_security(app: Flask) -> None:
    """Security headers and CSP on every response; the employee's theme in templates."""
    from flask_login import current_user

    from admin_app.security import register_security_headers

    register_security_headers(app)

    @app.context_processor
    def theme_helpers() -> dict[str, Any]:
        def user_swatch() -> str:
            preferred = current_user.preferences.get("theme") if current_user.is_authenticated else None
            return preferred or app.config["ADMIN_SWATCH"]

        return {"user_swatch": user_swatch}


def register_errorhandlers(app: Flask) -> None:
    """Friendly error pages that never show a stack trace or SQL."""
    from flask import render_template

    from admin_app.auth.views import too_many_attempts

    pages = {
        400: ("Bad request", "The request could not be understood. If you submitted a form, reload it and try again."),
        403: ("Forbidden", "Your account does not have permission to do this."),
        404: ("Not found", "There is nothing at this address."),
        405: ("Method not allowed", "This address does not accept that kind of request."),
        500: ("Something went wrong", "The error has been logged. Please try again in a moment."),
    }

    def render_error(error: Exception) -> tuple[str, int]:
        code = getattr(error, "code", 500) or 500
        title, message = pages.get(code, pages[500])
        return render_template("errors/error.html", code=code, title=title, message=message), code

    for code in pages:
        app.register_error_handler(code, render_error)
    app.register_error_handler(429, too_many_attempts)

    from flask import request

    def too_large(error: Exception) -> tuple[str, int]:
        limit = request.max_content_length or 0
        return render_template(
            "errors/error.html", code=413, title="Too large to send",
            message=f"What was sent is larger than this page accepts (at most {limit / 1024 / 1024:g} MB). "
                    "Nothing was saved: shorten the longest text and try again."), 413

    app.register_error_handler(413, too_large)

    from sqlalchemy.exc import OperationalError

    from admin_app.extensions import db

    def database_unavailable(error: OperationalError) -> tuple[str, int]:
        """The database went away or is locked: say so (503), and hand the connection back
        so the next request starts clean (no restart needed)."""
        try:
            db.session.rollback()
        except Exception:  # the connection may be gone already; it is discarded
            db.session.remove()
        app.logger.error("database unavailable: %s", error.orig)
        # Render as signed out: Flask-Login would otherwise load the user from the very
        # database that is unavailable (its cached user lives in ``g._login_user``).
        from flask import g

        from admin_app.extensions import login_manager

        g._login_user = login_manager.anonymous_user()
        return render_template("errors/error.html", code=503, title="Database unavailable",
                               message="The database cannot be reached right now. Nothing was saved; "
                                       "please try again in a moment."), 503

    app.register_error_handler(OperationalError, database_unavailable)


def register_commands(app: Flask) -> None:
    """``flask``/``manage.py`` commands: thin wrappers over :mod:`admin_app.commands`."""
    from admin_app.commands import cli_commands

    for command in cli_commands:
        app.cli.add_command(command)


def register_shell_context(app: Flask) -> None:
    """``flask shell`` starts with ``db`` and every model imported."""
    from admin_app import models
    from admin_app.extensions import db

    @app.shell_context_processor
    def shell_context() -> dict[str, Any]:
        return {"db": db, **{name: getattr(models, name) for name in models.__all__}}
