"""The Flask-Admin back office: one ``Admin`` per app, every view registered in one place."""

from __future__ import annotations

from flask import Flask
from flask_admin import Admin
from flask_admin.theme import Bootstrap4Theme


def init_admin(app: Flask) -> Admin:
    admin = Admin(
        app,
        name="Shop back office",
        theme=Bootstrap4Theme(swatch=app.config["ADMIN_SWATCH"], fluid=True),
    )
    register_views(admin)
    return admin


def register_views(admin: Admin) -> None:
    """Every model view of the back office, grouped by menu category."""
