"""Command-line interface: thin click wrappers over the plain functions of the domain packages."""

from __future__ import annotations

import os
import secrets
import subprocess
import sys
from collections.abc import Iterator, Sequence
from contextlib import nullcontext
from pathlib import Path
from typing import IO, Any

import click
from flask import current_app
from flask.cli import with_appcontext
from flask_migrate import upgrade
from werkzeug.serving import run_simple

from admin_app.accounts import erasure
from admin_app.accounts.auth.active_sessions import forget_old_session_details
from admin_app.accounts.auth.two_factor import TwoFactorError, enrol_without_code, normalise_secret, reset_two_factor
from admin_app.accounts.models import ROLES, Employee
from admin_app.accounts.services import UserError, create_employee, find_user_by_login
from admin_app.audit.services import CLI, audit_actor
from admin_app.catalog.models import MANUAL_REASONS, Product
from admin_app.catalog.stock import adjust_stock, stock_differences
from admin_app.config import PROJECT_ROOT
from admin_app.core import trash
from admin_app.core.config_check import config_problems, is_fatal
from admin_app.core.export import (
    build_statement,
    count_statement,
    csv_stream,
    iter_rows,
    xlsx_write,
)
from admin_app.core.models import DataRuleError
from admin_app.core.search import filter_clause, limit_search
from admin_app.core.tasks import consumer as queue_consumer
from admin_app.demo import DatabaseNotEmpty, DemoSizes, database_is_empty, seed_demo, total_rows
from admin_app.domains import EXPORTS
from admin_app.extensions import db
from admin_app.sales.models import ORDER_STATUSES
from admin_app.sales.services import move_order_ids

DEMO_ADMIN = "admin"


def _read_password(password_stdin: bool) -> str:
    if password_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    return click.prompt("Password", hide_input=True, confirmation_prompt=True)


@click.command("create-user")
@click.argument("username")
@click.option("--email", required=True, help="The employee's email address.")
@click.option("--role", type=click.Choice(ROLES), default="viewer", show_default=True)
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input (for scripts).")
@click.option("--totp-secret-stdin", is_flag=True,
              help="Read a base32 TOTP secret from the next line of standard input and turn on two-factor "
                   "sign-in with it (for scripts and tests; prints the recovery codes).")
@click.option("--first-name")
@click.option("--last-name")
@with_appcontext
@audit_actor(CLI)
def create_user_command(username: str, email: str, role: str, password_stdin: bool, totp_secret_stdin: bool,
                        first_name: str | None, last_name: str | None) -> None:
    """Create a back-office employee account."""
    password = _read_password(password_stdin)
    try:
        secret = normalise_secret(sys.stdin.readline()) if totp_secret_stdin else None
        employee = create_employee(username, email, password, role, first_name=first_name, last_name=last_name)
    except (UserError, TwoFactorError) as error:
        raise click.ClickException(str(error)) from error
    click.echo(f"Created {employee.role} {employee.username!r} <{employee.email}>.")
    if secret is not None:
        codes = enrol_without_code(employee, secret)
        click.echo("Two-factor sign-in is on. Recovery codes (each works once): " + " ".join(codes))


def _progress_reporter(total: int):
    """A click progress bar on a terminal; one line per table otherwise."""
    if sys.stdout.isatty():
        bar = click.progressbar(length=total, label="Seeding demo data")
        bar.__enter__()
        return (lambda label, n: bar.update(n)), (lambda: bar.__exit__(None, None, None))
    return None, (lambda: None)


@click.command("seed-demo")
@click.option("--seed", default=42, show_default=True, help="Random seed: the same seed gives the same data.")
@click.option("--customers", default=DemoSizes.customers, show_default=True)
@click.option("--products", default=DemoSizes.products, show_default=True)
@click.option("--orders", default=DemoSizes.orders, show_default=True)
@click.option("--items-per-order", default=DemoSizes.items_per_order, show_default=True,
              help="Average number of items per order.")
@click.option("--posts", default=DemoSizes.posts, show_default=True)
@click.option("--bench", is_flag=True, help="Bench scale: 50k customers, 10k products, 200k orders, ~1M items.")
@with_appcontext
@audit_actor(CLI)
def seed_demo_command(seed: int, customers: int, products: int, orders: int, items_per_order: int,
                      posts: int, bench: bool) -> None:
    """Fill an empty database with realistic, deterministic demo data."""
    for name, value in (("customers", customers), ("products", products), ("items-per-order", items_per_order)):
        if value < 1:
            raise click.BadParameter(f"must be at least 1, not {value}", param_hint=f"--{name}")
    sizes = DemoSizes.bench() if bench else DemoSizes(customers, products, orders, items_per_order, posts)
    update, close = _progress_reporter(total_rows(sizes))
    try:
        counts = seed_demo(sizes, seed=seed, progress=update)
    except DatabaseNotEmpty as error:
        raise click.ClickException(str(error)) from error
    finally:
        close()
    click.echo("Demo data loaded: " + ", ".join(f"{n:,} {table}" for table, n in counts.items()))


def ensure_demo_admin() -> str:
    """Make sure the demo admin exists with a fresh random password, and return it."""
    password = secrets.token_urlsafe(12)
    admin = find_user_by_login(DEMO_ADMIN)
    if isinstance(admin, Employee):
        admin.set_password(password)
        admin.role, admin.is_active = "admin", True
        db.session.commit()
        reset_two_factor(admin)  # the printed password alone signs in, whatever an earlier run set up
    else:
        create_employee(DEMO_ADMIN, "admin@shop.example", password, "admin", first_name="Demo", last_name="Admin")
    return password


def prepare_demo() -> str:
    """Migrate the database, load demo data when it is empty, and return the admin's password."""
    upgrade(directory=current_app.extensions["migrate"].directory)
    if database_is_empty():
        click.echo("Loading demo data...")
        seed_demo()
    return ensure_demo_admin()


@click.command("demo")
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=5000, show_default=True)
@with_appcontext
def demo_command(host: str, port: int) -> None:
    """Migrate, load demo data, and serve the back office for a first look."""
    with audit_actor(CLI):
        password = prepare_demo()
    if "TWO_FACTOR_REQUIRED_ROLES" not in os.environ:
        # A first look needs no authenticator app: required of nobody, open to anyone.
        current_app.config["TWO_FACTOR_REQUIRED_ROLES"] = ()
    click.echo(
        f"\n  Back office: http://{host}:{port}/admin/\n"
        f"  Log in as {DEMO_ADMIN!r} with password {password!r}\n"
        "  (a new password is set every time the demo starts)\n"
        "  Two-factor sign-in is not required in the demo; try it on My account.\n"
    )
    # Long work (big exports) runs beside the server, in a worker process of its own.
    worker = subprocess.Popen([sys.executable, str(PROJECT_ROOT / "manage.py"), "worker", "--workers", "1"])
    try:
        # Flask ignores app.run() inside its own CLI; serve with Werkzeug directly.
        run_simple(host, port, current_app._get_current_object(), use_reloader=False, threaded=True)
    finally:
        worker.terminate()
        worker.wait(timeout=30)


@click.command("worker")
@click.option("--workers", default=2, show_default=True, help="Threads taking jobs from the queue.")
@with_appcontext
def worker_command(workers: int) -> None:
    """Take jobs from the task queue (big exports) and run the periodic ones (expiry, the
    reaper), until stopped (Ctrl+C or SIGTERM: the job at hand finishes first)."""
    where = current_app.config.get("TASK_QUEUE_URL") or "instance/tasks.db"
    click.echo(f"Worker: {workers} thread(s) on the queue at {where}")
    queue_consumer(workers).run()


@click.command("check-config")
@with_appcontext
def check_config_command() -> None:
    """Check the configuration is fit for production; exit 1 if it is not."""
    problems = config_problems(current_app)
    for problem in problems:
        click.echo(f"{'ERROR' if is_fatal(problem) else 'warning'}: {problem}", err=True)
    if any(is_fatal(p) for p in problems):
        raise SystemExit(1)
    click.echo("Configuration is fit for production." if not problems else "No blocking problems.")


@click.command("prune-sessions")
@with_appcontext
def prune_sessions_command() -> None:
    """Erase the address and browser of sessions older than SESSION_DETAILS_RETENTION_DAYS
    (every sign-in does it too; this is for a quiet shop or a cron job)."""
    erased = forget_old_session_details()
    db.session.commit()
    click.echo(f"Erased the address and browser of {erased} session(s).")


@click.command("reset-two-factor")
@click.argument("username")
@with_appcontext
@audit_actor(CLI)
def reset_two_factor_command(username: str) -> None:
    """Remove USERNAME's second factor and end their sessions (an admin who lost their phone
    and recovery codes, with no other admin to reset it)."""
    employee = find_user_by_login(username)
    if not isinstance(employee, Employee):
        raise click.ClickException(f"No employee {username!r}.")
    if not reset_two_factor(employee):
        raise click.ClickException(f"{employee.username} has no second factor.")
    click.echo(f"The second factor of {employee.username} has been reset; they set up a new one at their next sign-in.")


cli_commands = [create_user_command, seed_demo_command, demo_command, worker_command, check_config_command,
                prune_sessions_command, reset_two_factor_command]


# --- export ---------------------------------------------------------------------------------

_PROGRESS_STEP = 500  # redraw the bar every few hundred rows, not on every row


class _RowCounter:
    """Counts rows as they pass and drives an optional progress bar; closing it closes the
    wrapped iterator (so the export's database session ends with it)."""

    def __init__(self, rows: Iterator[tuple[Any, ...]], bar: Any = None) -> None:
        self.rows, self.bar, self.count = rows, bar, 0

    def __iter__(self) -> Iterator[tuple[Any, ...]]:
        pending = 0
        for row in self.rows:
            pending += 1
            if pending == _PROGRESS_STEP:
                self.advance(pending)
                pending = 0
            yield row
        self.advance(pending)

    def advance(self, rows: int) -> None:
        self.count += rows
        if self.bar is not None:
            self.bar.update(rows)

    def close(self) -> None:
        close = getattr(self.rows, "close", None)
        if close is not None:
            close()


def export_filters(entity: str, filters: Sequence[str]) -> list[Any]:
    """``NAME=VALUE`` filters of ``manage.py export`` (the list's filter columns, "equals")."""
    spec = EXPORTS[entity]
    try:
        return [filter_clause(spec.model, spec.filters, assignment) for assignment in filters]
    except ValueError as error:
        raise click.BadParameter(str(error), param_hint="--filter") from error


def write_export(entity: str, fmt: str, search: str | None, out: IO[bytes], bar: Any = None,
                 filters: Sequence[str] = ()) -> tuple[int, Any]:
    """Write the export of ``entity`` (its specification's columns, search, filters and
    default sort: the rows the list and its export show for the same search and filters)
    to ``out``; returns the number of rows and, for XLSX, what :func:`xlsx_write` reports."""
    spec = EXPORTS[entity]
    statement = build_statement(spec, search=search, extra_where=export_filters(entity, filters))
    counter = _RowCounter(iter_rows(statement), bar)
    if fmt == "csv":
        for chunk in csv_stream(counter.rows, spec.columns, progress=counter.advance):
            out.write(chunk)
        return counter.count, None
    result = xlsx_write(counter, spec.columns, out, sheet_title=spec.title)
    return result.rows_written, result


def _export_progress(entity: str, search: str | None, filters: Sequence[str]) -> Any:
    """A progress bar on a terminal (its total costs one COUNT, only when someone watches)."""
    if not sys.stderr.isatty():
        return nullcontext()
    where = export_filters(entity, filters)
    total = db.session.scalar(count_statement(EXPORTS[entity], search=search, extra_where=where)) or 0
    return click.progressbar(length=total, label=f"Exporting {EXPORTS[entity].title}", file=sys.stderr)


@click.command("export")
@click.argument("entity", type=click.Choice(sorted(EXPORTS)), metavar="ENTITY")
@click.option("--format", "fmt", type=click.Choice(["csv", "xlsx"]), default="csv", show_default=True)
@click.option("--search", help="Only rows matching this text (case-insensitive), as the admin list search.")
@click.option("--filter", "filters", multiple=True, metavar="NAME=VALUE",
              help="Only rows whose NAME (one of the list's filter columns) equals VALUE; repeatable.")
@click.option("--output", "-o", type=click.Path(dir_okay=False, writable=True, allow_dash=True),
              help="File to write; standard output when omitted or '-'.")
@with_appcontext
def export_command(entity: str, fmt: str, search: str | None, filters: tuple[str, ...], output: str | None) -> None:
    """Export ENTITY (live rows only, mostly newest first) as CSV or XLSX.

    ENTITY is one of: address, auditlog, cartitem, category, comment, customer, employee,
    order, orderitem, post, product, tag. The columns and the search are the back office's
    (the same search gives the list's rows). CSV is UTF-8 with a BOM; cells a spreadsheet
    would run as a formula start with '. XLSX holds at most 1,048,576 rows (more: an error
    after writing them).
    """
    export_filters(entity, filters)  # a bad --filter is refused before a file is opened
    to_stdout = output in (None, "-")
    if to_stdout and fmt == "xlsx" and sys.stdout.isatty():
        raise click.UsageError("XLSX is binary: redirect standard output or use --output FILE.")
    search = _limited_search(search)
    bar_context = _export_progress(entity, search, filters)
    # open_file("-") is Click's supported way to reach binary stdout (get_binary_stream is
    # deprecated in 8.5); it does not close stdout when we are done.
    out: IO[bytes] = click.open_file(output or "-", "wb")
    try:
        with bar_context as bar:
            count, xlsx = write_export(entity, fmt, search, out, bar, filters)
        out.flush()
    except BaseException:
        if not to_stdout:
            out.close()
            Path(output).unlink(missing_ok=True)  # type: ignore[arg-type]  # no half-written file
        raise
    if not to_stdout:
        out.close()
        # stderr: standard output may be the data itself.
        click.echo(f"Exported {count:,} {EXPORTS[entity].title} to {output}.", err=True)
    _refuse_truncated(xlsx)


def _limited_search(search: str | None) -> str | None:
    """The search as the list page limits it, saying on stderr what was left out."""
    if not search:
        return search
    limited = limit_search(search)
    if limited.dropped:
        click.echo(limited.message(), err=True)
    return limited.text


def _refuse_truncated(xlsx: Any) -> None:
    if xlsx is not None and xlsx.truncated:
        raise click.ClickException(
            f"more than {xlsx.row_cap:,} rows (Excel's limit): the file holds only the first "
            f"{xlsx.rows_written:,}. Narrow it with --search or use --format csv.")


cli_commands.append(export_command)


# --- the trash and erasure ------------------------------------------------------------------


@click.command("purge")
@click.argument("entity", type=click.Choice(sorted(trash.trash_models())), metavar="ENTITY")
@click.argument("ids", nargs=-1, type=int, required=True)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
@with_appcontext
@audit_actor(CLI)
def purge_command(entity: str, ids: tuple[int, ...], yes: bool) -> None:
    """Remove records of ENTITY in the trash for good, with their parts, in one transaction.

    Prints what would be removed and what blocks it first (any other record that refers to
    one, live or deleted, blocks it); records not in the trash are never touched.
    """
    records = trash.load_with_trash(trash.trash_models()[entity], ids)
    plan = trash.purge_plan(records)
    for line in trash.describe_plan(plan):
        click.echo(line)
    if not plan.ready:
        raise click.ClickException("nothing to purge")
    if not yes:
        click.confirm(f"Remove {len(plan.ready)} record(s) and their parts for good?", abort=True)
    report = trash.purge(records)
    db.session.commit()
    click.echo(f"Purged {len(report.purged)} {entity} record(s): "
               + ", ".join(f"#{item.record.id}" for item in report.purged) + ".")


@click.command("anonymise-customer")
@click.argument("ids", nargs=-1, type=int, required=True)
@click.option("--yes", is_flag=True, help="Do not ask for confirmation (for scripts).")
@with_appcontext
@audit_actor(CLI)
def anonymise_customer_command(ids: tuple[int, ...], yes: bool) -> None:
    """Erase the personal data of the customers with these ids (a GDPR erasure request):
    their orders stay; names, email, username and addresses become placeholders, in the
    change history too. This cannot be undone."""
    if not yes:
        click.confirm(f"Erase the personal data of {len(ids)} customer(s) for good?", abort=True)
    erased, refused = erasure.anonymise_customers(list(ids))
    db.session.commit()
    for customer_id, why in refused:
        click.echo(f"Customer #{customer_id} left unchanged: {why}.", err=True)
    click.echo(f"Anonymised {len(erased)} customer(s): " + ", ".join(f"#{c.id}" for c in erased) + ".")
    if refused:
        raise SystemExit(1)


cli_commands.extend([purge_command, anonymise_customer_command])


# --- the order workflow ---------------------------------------------------------------------


@click.command("order-status")
@click.argument("target", type=click.Choice(ORDER_STATUSES), metavar="STATUS")
@click.argument("order_ids", nargs=-1, type=click.IntRange(min=1), required=True, metavar="ORDER_ID...")
@with_appcontext
@audit_actor(CLI)
def order_status_command(target: str, order_ids: tuple[int, ...]) -> None:
    """Move orders to STATUS along their life cycle (pending → paid → shipped → delivered,
    pending or paid → cancelled), as the back office's bulk actions do. Orders the life
    cycle does not allow are left unchanged and named; the exit status is then 1."""
    report = move_order_ids(order_ids, target)
    db.session.commit()
    if report.moved:
        click.echo(f"{len(report.moved)} order(s) marked {target}: " + ", ".join(f"#{o.id}" for o in report.moved))
    for order, why in report.refused:
        click.echo(f"#{order.id} left unchanged: {why}", err=True)
    for order_id in report.missing:
        click.echo(f"#{order_id}: no such order", err=True)
    if report.refused or report.missing:
        raise SystemExit(1)


cli_commands.append(order_status_command)


# --- the stock ledger -----------------------------------------------------------------------


@click.command("check-stock")
@with_appcontext
def check_stock_command() -> None:
    """Check that every product's stock equals the sum of its stock movements; name each
    product where it does not (exit status 1)."""
    differences = stock_differences()
    for difference in differences:
        click.echo(f"#{difference.product_id} {difference.name}: stock {difference.stock}, "
                   f"movements add up to {difference.ledger} ({difference.stock - difference.ledger:+d})", err=True)
    if differences:
        raise SystemExit(1)
    click.echo("Every product's stock equals the sum of its movements.")


@click.command("adjust-stock")
@click.argument("product_id", type=click.IntRange(min=1))
@click.option("--quantity", type=int, required=True, help="Units in; negative for units out (--quantity -3).")
@click.option("--reason", type=click.Choice(MANUAL_REASONS), required=True)
@click.option("--note", help="For example the delivery note's number.")
@with_appcontext
@audit_actor(CLI)
def adjust_stock_command(product_id: int, quantity: int, reason: str, note: str | None) -> None:
    """Move units into (or, negative, out of) a product's stock, as "Adjust stock" does."""
    product = db.session.get(Product, product_id)
    if product is None:
        raise click.ClickException(f"No product #{product_id}.")
    try:
        balance = adjust_stock(product, quantity, reason, note)
        db.session.commit()
    except DataRuleError as refused:
        db.session.rollback()
        raise click.ClickException(refused.message) from None
    click.echo(f"#{product.id} {product.name}: stock now {balance}.")


cli_commands.extend([check_stock_command, adjust_stock_command])
