#!/usr/bin/env python
"""``python manage.py COMMAND``: the Flask CLI around :func:`admin_app.create_app`.

Besides Flask's own commands (``run``, ``shell``, ``routes``) and Flask-Migrate's ``db``,
it offers ``create-user``, ``seed-demo`` and ``demo`` (see ``--help``).
"""

from flask.cli import FlaskGroup

from admin_app import create_app

cli = FlaskGroup(create_app=create_app, help=__doc__)

if __name__ == "__main__":
    cli()
