"""Production plumbing: health check, request ids and JSON logs, error pages, check-config."""

from __future__ import annotations

import json
import logging

from flask import abort

from admin_app.commands import check_config_command
from admin_app.config import DEV_SECRET_KEY
from admin_app.core.observability import JSONFormatter
from tests.conftest import login_as


def test_healthz_answers_without_login(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok", "database": "ok"}


def test_healthz_is_503_when_the_database_is_gone(extra_app, tmp_path):
    broken = extra_app(f"sqlite:///{tmp_path}/no/such/dir/db.sqlite")
    response = broken.test_client().get("/healthz")
    assert response.status_code == 503 and response.get_json()["database"] == "unreachable"


def test_every_response_carries_a_request_id(client):
    generated = client.get("/login").headers["X-Request-ID"]
    assert len(generated) == 32
    assert client.get("/login", headers={"X-Request-ID": "abcdef123456"}).headers["X-Request-ID"] == "abcdef123456"
    forged = client.get("/login", headers={"X-Request-ID": "<script>"}).headers["X-Request-ID"]
    assert forged != "<script>" and len(forged) == 32


def test_json_log_lines_carry_the_request_id(app):
    record = logging.makeLogRecord({"name": "admin_app.auth", "levelname": "INFO", "msg": "auth %s",
                                    "args": ("login",), "event": "login", "username": "ann"})
    with app.test_request_context("/login"):
        from flask import g

        g.request_id = "req-123456"
        line = json.loads(JSONFormatter().format(record))
    assert line["message"] == "auth login" and line["request_id"] == "req-123456"
    assert line["event"] == "login" and line["username"] == "ann" and line["level"] == "INFO"


def test_error_pages_never_show_a_stack_trace(extra_app, staff_user):
    app = extra_app(PROPAGATE_EXCEPTIONS=False, TESTING=False)

    @app.get("/boom")
    def boom():
        raise RuntimeError("SELECT secret FROM users -- internal detail")

    @app.get("/forbidden")
    def forbidden():
        abort(403)

    client = app.test_client()
    crashed = client.get("/boom")
    assert crashed.status_code == 500
    assert "Something went wrong" in crashed.text
    assert "Traceback" not in crashed.text and "SELECT" not in crashed.text
    missing = client.get("/admin/no-such-view/")
    assert missing.status_code == 404 and "There is nothing at this address." in missing.text
    assert client.get("/forbidden").status_code == 403


def test_403_page_for_a_signed_in_employee(client, viewer_user):
    login_as(client, viewer_user)
    page = client.get("/admin/auditlog/")
    assert page.status_code == 403 and "does not have permission" in page.text


def test_check_config_refuses_development_settings(extra_app, tmp_path):
    app = extra_app(f"sqlite:///{tmp_path}/outside.db", SECRET_KEY=DEV_SECRET_KEY)
    with app.app_context():
        result = app.test_cli_runner().invoke(check_config_command)
    assert result.exit_code == 1
    assert "ERROR: SECRET_KEY" in result.output and "outside the instance folder" in result.output
    assert "TASK_QUEUE_URL does not name Redis" in result.output


def test_check_config_accepts_production_settings(extra_app):
    app = extra_app("postgresql+psycopg://shop@db.internal/shop", SECRET_KEY="x" * 48,
                    RATELIMIT_STORAGE_URI="redis://cache:6379", SESSION_COOKIE_SECURE=True,
                    TWO_FACTOR_ENCRYPTION_KEY="k" * 44, RECOVERY_CODE_HMAC_KEY="h" * 48,
                    TASK_QUEUE_URL="redis://cache:6379/1")
    with app.app_context():
        result = app.test_cli_runner().invoke(check_config_command)
    assert result.exit_code == 0, result.output
    assert "fit for production" in result.output
