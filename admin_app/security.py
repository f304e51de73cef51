"""Response hardening: security headers and a Content-Security-Policy with per-request nonces.

Flask-Admin's templates put a nonce on every ``<script>`` when the ``Admin`` has a
``csp_nonce_generator``; the few inline event handlers its templates still carry (the
delete confirmation, the filter menu) are allowed by hash with ``'unsafe-hashes'`` rather
than by ``'unsafe-inline'``.
"""

from __future__ import annotations

import base64
import hashlib
import secrets

from flask import Flask, Response, g

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
        return response
