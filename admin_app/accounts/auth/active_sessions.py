"""Sessions an employee can see and end (My account), that admins can end for an employee,
and the retention of what a session stores about the browser.

Built on the ``user_sessions`` rows of :mod:`admin_app.accounts.auth.session`: ending a session is
deleting its row, which signs that browser out at its next request. A session's address
and browser string are kept ``SESSION_DETAILS_RETENTION_DAYS`` (90) days, then erased by
:func:`forget_old_session_details`, which every sign-in runs (one UPDATE on a table of a
few rows per employee) and ``manage.py prune-sessions`` runs on demand.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import delete, or_, select, update

from admin_app.accounts.models import UserSession
from admin_app.core.models import utcnow
from admin_app.extensions import db

# (pattern, name) in the order browsers claim each other's names: Edge and Opera also say
# "Chrome", Chrome also says "Safari".
BROWSERS = (
    (re.compile(r"Edg(?:e|A|iOS)?/(\d+)"), "Edge"),
    (re.compile(r"OPR/(\d+)"), "Opera"),
    (re.compile(r"Firefox/(\d+)"), "Firefox"),
    (re.compile(r"(?:Chrome|CriOS|HeadlessChrome)/(\d+)"), "Chrome"),
    (re.compile(r"Version/(\d+)[^ ]* (?:Mobile/\S+ )?Safari/"), "Safari"),
)
SYSTEMS = (("Windows", "Windows"), ("iPhone", "iOS"), ("iPad", "iPadOS"), ("Android", "Android"),
           ("Mac OS X", "macOS"), ("CrOS", "ChromeOS"), ("Linux", "Linux"))


@dataclass(frozen=True)
class ActiveSession:
    """One session as My account shows it."""

    id: str
    started: datetime
    last_seen: datetime
    address: str | None
    browser: str
    current: bool


def describe_browser(user_agent: str | None) -> str:
    """"Firefox 133 on Linux" from a User-Agent string; "Unknown browser" when it says nothing
    we know."""
    if not user_agent:
        return _("Unknown browser")
    browser = next((f"{name} {match.group(1)}" for pattern, name in BROWSERS
                    if (match := pattern.search(user_agent))), None)
    system = next((name for token, name in SYSTEMS if token in user_agent), None)
    if browser and system:
        return _("%(browser)s on %(system)s", browser=browser, system=system)
    return browser or system or user_agent[:60]


def _live_since() -> datetime:
    """Sessions seen after this are live; older ones ended by idling (their rows go at the
    next sign-in)."""
    return utcnow() - current_app.permanent_session_lifetime


def sessions_of(employee_id: int, current_id: str | None = None) -> list[ActiveSession]:
    """The employee's live sessions, the most recently used first."""
    rows = db.session.scalars(
        select(UserSession)
        .where(UserSession.user_id == employee_id, UserSession.last_seen_at >= _live_since())
        .order_by(UserSession.last_seen_at.desc(), UserSession.created_at.desc())
    ).all()
    return [ActiveSession(row.id, row.created_at, row.last_seen_at, row.ip_address, describe_browser(row.user_agent),
                          row.id == current_id) for row in rows]


def end_session_of(employee_id: int, session_id: str) -> bool:
    """End one of the employee's sessions (committed); False if it was not theirs or gone."""
    ended = db.session.execute(delete(UserSession).where(UserSession.user_id == employee_id,
                                                         UserSession.id == session_id))
    db.session.commit()
    return ended.rowcount == 1


def end_sessions_of(employee_id: int, keep: str | None = None) -> int:
    """End every session of the employee but ``keep`` (committed); how many ended."""
    statement = delete(UserSession).where(UserSession.user_id == employee_id)
    if keep is not None:
        statement = statement.where(UserSession.id != keep)
    ended = db.session.execute(statement)
    db.session.commit()
    return ended.rowcount


def forget_old_session_details(now: datetime | None = None) -> int:
    """Erase the address and browser string of sessions started more than
    ``SESSION_DETAILS_RETENTION_DAYS`` ago (the caller commits); how many were erased."""
    days = int(current_app.config.get("SESSION_DETAILS_RETENTION_DAYS", 90))
    cutoff = (now or utcnow()) - timedelta(days=days)
    erased = db.session.execute(
        update(UserSession)
        .where(UserSession.created_at < cutoff,
               or_(UserSession.ip_address.is_not(None), UserSession.user_agent.is_not(None)))
        .values(ip_address=None, user_agent=None)
        .execution_options(synchronize_session=False))
    return erased.rowcount
