"""Security headers on every response, and a session cookie marked Secure when served over HTTPS."""
from __future__ import annotations

from flask import Flask, request
from flask.sessions import SecureCookieSessionInterface

# No inline script or style anywhere: every script and stylesheet is a file the app serves.
CSP = ("default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; font-src 'self'; "
       "connect-src 'self'; object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")
# An SVG chart served on its own may carry its own <style>; it can run nothing.
SVG_CSP = "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'self'"


class SessionInterface(SecureCookieSessionInterface):
    def get_cookie_secure(self, app: Flask) -> bool:
        return bool(app.config["SESSION_COOKIE_SECURE"]) or request.is_secure


def register(app: Flask) -> None:
    app.session_interface = SessionInterface()
    app.after_request(_secure)


def _secure(response):
    headers = response.headers
    svg = response.mimetype == "image/svg+xml"
    headers.setdefault("Content-Security-Policy", SVG_CSP if svg else CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "SAMEORIGIN" if svg else "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    if request.is_secure:
        headers.setdefault("Strict-Transport-Security", "max-age=31536000; includeSubDomains")
    return response
