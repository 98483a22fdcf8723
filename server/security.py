"""HTTP hardening of every response: security headers, HTTPS-only cookies, trusted proxies.

- A strict Content-Security-Policy: scripts and styles only from this server's
  files (no inline script, no inline style attribute, no eval), no plugins, no
  ``<base>``, forms post only here, and no page may be framed (clickjacking).
  User text therefore cannot run as script even if a template or a script
  ever inserted it as HTML.
- ``X-Content-Type-Options: nosniff``, ``X-Frame-Options: DENY`` (browsers
  that predate frame-ancestors), ``Referrer-Policy: same-origin`` (area and
  record ids in URLs stay here) and ``Cross-Origin-Opener-Policy: same-origin``.
- Behind HTTPS (``SAOLA_HTTPS``, or a request that a trusted proxy marked as
  https): HSTS and the ``Secure`` flag on the session cookie.
- ``SAOLA_TRUSTED_PROXIES`` (werkzeug's ProxyFix, set up in create_app): only
  then is a proxy's X-Forwarded-Proto believed, since anyone can send it.
- No ``Server`` header naming the software (``saola serve`` passes waitress an
  empty ident).
"""
from __future__ import annotations

from flask import Flask, Response, request
from flask.sessions import SecureCookieSessionInterface

CSP = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    # No 'unsafe-inline': templates carry no style attributes (positions are set from
    # data-* attributes by script through the CSSOM, which CSP does not restrict).
    "style-src 'self'",
    # data: only for the empty favicon of base.html.
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
])

# The annual report is one self-contained HTML document (also the PDF's source): its
# styles are in a <style> element and its figures are data: images. It carries no script.
REPORT_CSP = ("default-src 'none'; style-src 'unsafe-inline'; img-src data:; object-src 'none'; "
              "base-uri 'none'; frame-ancestors 'none'; form-action 'none'")

HSTS = "max-age=31536000"


def https_request(app: Flask) -> bool:
    """True when this request reached Saola over HTTPS (directly, through a trusted proxy,
    or as declared by ``SAOLA_HTTPS``)."""
    return bool(app.config.get("HTTPS")) or request.is_secure


class SessionInterface(SecureCookieSessionInterface):
    """Flask's signed-cookie sessions, with ``Secure`` cookies whenever the site is on HTTPS."""

    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config.get("SESSION_COOKIE_SECURE")) or https_request(app)


def _headers(app: Flask, response: Response) -> Response:
    h = response.headers
    h.setdefault("Content-Security-Policy", CSP)
    h["X-Content-Type-Options"] = "nosniff"
    h["X-Frame-Options"] = "DENY"
    h["Referrer-Policy"] = "same-origin"
    h["Cross-Origin-Opener-Policy"] = "same-origin"
    if https_request(app):
        h["Strict-Transport-Security"] = HSTS
    h.pop("Server", None)
    return response


def init_app(app: Flask) -> None:
    """Add the headers to every response; Secure session cookies on HTTPS."""
    if app.config.get("HTTPS"):
        app.config["SESSION_COOKIE_SECURE"] = True
    app.session_interface = SessionInterface()
    app.after_request(lambda response: _headers(app, response))
