"""Request and response hardening, in one place.

- Security headers, ``Cache-Control: no-store`` on everything but static files, and a
  Content-Security-Policy with per-request nonces. Flask-Admin's templates put a nonce on
  every ``<script>`` when the ``Admin`` has a ``csp_nonce_generator``; the few inline event
  handlers its templates still carry (the delete confirmation, the filter menu) are allowed
  by hash with ``'unsafe-hashes'`` rather than by ``'unsafe-inline'``.
- Request bodies: ``MAX_CONTENT_LENGTH`` for every request, raised only for a view marked
  with :func:`accepts_uploads`.
- Return addresses (``next=``, Flask-Admin's ``url=``): :func:`is_same_site_path`.
- Behind a proxy: :func:`register_proxy_fix` (``TRUSTED_PROXIES``).
"""

from __future__ import annotations

import base64
import hashlib
import secrets
from collections.abc import Callable
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g, request
from werkzeug.middleware.proxy_fix import ProxyFix

#: The back office's roles, most powerful first (employees hold one; views check them).
ROLES = ("admin", "staff", "viewer")

F = TypeVar("F", bound=Callable[..., Any])

# Inline handlers in Flask-Admin 2.2's bootstrap4 templates, allowed by exact hash; the
# "Add <inline rows>" buttons add one per inline field (see allow_inline_handler).
FLASK_ADMIN_INLINE_HANDLERS = {
    "return faHelpers.safeConfirm('Are you sure you want to delete this record?');",
    "return false;",
    "javascript:void(0)",
}


def _hash_source(source: str) -> str:
    digest = hashlib.sha256(source.encode()).digest()
    return "'sha256-" + base64.b64encode(digest).decode() + "'"


def allow_inline_handler(source: str) -> None:
    """Allow one more exact inline handler (e.g. ``faForm.addInlineField(this, 'items');``)."""
    FLASK_ADMIN_INLINE_HANDLERS.add(source)


_hashes_for: dict[frozenset[str], str] = {}


def handler_hashes() -> str:
    """The CSP hashes of the allowed handlers (computed again only when one is added)."""
    handlers = frozenset(FLASK_ADMIN_INLINE_HANDLERS)
    if handlers not in _hashes_for:
        _hashes_for[handlers] = " ".join(sorted(_hash_source(s) for s in handlers))
    return _hashes_for[handlers]


def csp_nonce() -> str:
    """This request's nonce (one per request, shared by every script tag on the page)."""
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def content_security_policy(nonce: str) -> str:
    return "; ".join((
        "default-src 'self'",
        f"script-src 'self' 'nonce-{nonce}' 'unsafe-hashes' {handler_hashes()}",
        # Flask-Admin and select2 set style attributes; styles cannot run code.
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "font-src 'self' data:",
        "connect-src 'self'",
        "object-src 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "frame-ancestors 'none'",
    ))


def is_same_site_path(target: str | None) -> bool:
    r"""Whether ``target`` is a path on this site (``/admin/order/?page=2``) and nothing a
    browser could read as another site: no scheme (``http:/evil``, ``http:evil``,
    ``javascript:``), no host (``//evil``), no backslash (browsers read ``/\evil`` as
    ``//evil``), no control character (browsers drop a tab or newline, so ``/<tab>/evil``
    would become ``//evil``)."""
    if not target or not target.startswith("/") or target.startswith("//"):
        return False
    if "\\" in target or any(ord(ch) < 32 or ord(ch) == 127 for ch in target):
        return False
    parts = urlsplit(target)
    return not parts.scheme and not parts.netloc


def is_static_endpoint(endpoint: str | None) -> bool:
    """The app's and Flask-Admin's static files (``static``, ``admin.static``)."""
    return bool(endpoint) and (endpoint == "static" or endpoint.endswith(".static"))


def register_security_headers(app: Flask) -> None:
    app.jinja_env.globals["csp_nonce"] = csp_nonce

    @app.after_request
    def set_security_headers(response: Response) -> Response:
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("Cross-Origin-Opener-Policy", "same-origin")
        response.headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
        response.headers.setdefault("Content-Security-Policy", content_security_policy(csp_nonce()))
        if app.config.get("SESSION_COOKIE_SECURE"):
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        if not is_static_endpoint(request.endpoint):
            # Pages and downloads hold shop data and CSRF tokens: no browser or proxy keeps a
            # copy (the back button after sign-out shows nothing). Static files keep theirs.
            response.headers["Cache-Control"] = "no-store"
        return response


def accepts_uploads(max_bytes: int) -> Callable[[F], F]:
    """Let one view take bodies up to ``max_bytes`` (a file upload), instead of the app's
    ``MAX_CONTENT_LENGTH`` (1 MB). Put it under ``@expose``/``@route``::

        @expose("/import/", methods=["GET", "POST"])
        @accepts_uploads(20 * 1024 * 1024)
        def import_view(self): ...
    """
    def mark(view: F) -> F:
        view.max_content_length = max_bytes  # type: ignore[attr-defined]
        return view

    return mark


def register_request_limits(app: Flask) -> None:
    """Apply a view's :func:`accepts_uploads` limit before anything reads the body. Must be
    registered before CSRFProtect, whose ``before_request`` reads the form."""
    @app.before_request
    def apply_view_body_limit() -> None:
        view = current_app.view_functions.get(request.endpoint or "")
        limit = getattr(view, "max_content_length", None)
        if limit is not None:
            request.max_content_length = limit


def register_proxy_fix(app: Flask) -> None:
    """Behind ``TRUSTED_PROXIES`` reverse proxies (default 0: none), take the client's
    address, scheme and host from the ``X-Forwarded-*`` headers they add, so throttling per
    address and the logs see the client rather than the proxy. With 0 the headers are
    ignored: anyone can send them."""
    trusted = int(app.config.get("TRUSTED_PROXIES") or 0)
    if trusted > 0:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=trusted, x_proto=trusted, x_host=trusted)  # type: ignore[method-assign]
