"""Who may use the page, and the headers every answer carries.

Loopback mode, like a notebook server: ``serve`` prints a URL with a one-time token; the first
visit trades it for a session cookie (HttpOnly, SameSite=Strict) and the token is spent.
Without a session every page answers 403. Requests whose Host header is not the address served
are refused (DNS rebinding); every form carries the session's CSRF token and a cross-site
Origin is refused. Pages are ``no-store`` and under a strict Content-Security-Policy (scripts
and styles from the server's own static files only; no framing).

Designed for accounts (issue 15): a :class:`Session` has a role and, later, a user; the token
opens a ``billing`` session only, and :func:`require_role` is what a signing route will ask
for. The server log carries method, route template, status and time, never a path with a case
in it, a query string or a form value.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import time
from dataclasses import dataclass, field
from enum import StrEnum

from fastapi import HTTPException, Request
from starlette.responses import Response

SESSION_COOKIE = "kl_session"
CSRF_FIELD = "_csrf"
CSRF_HEADER = "x-csrf-token"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
PUBLIC_PREFIXES = ("/static/",)  # the page's own code and styles: no patient data
CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
       "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
HEADERS = {
    "Cache-Control": "no-store",
    "Pragma": "no-cache",
    "Content-Security-Policy": CSP,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",  # no-referrer would make form posts send Origin: null
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
}

log = logging.getLogger("ketamine_letters.web")


class Role(StrEnum):
    billing = "billing"
    physician = "physician"  # issue 15: only a physician account, with its password, signs


@dataclass
class Session:
    csrf: str
    role: Role
    user: str | None = None  # issue 15: the account; None for the loopback token's session
    last_seen: float = field(default_factory=time.monotonic)


class Gate:
    """The one-time token, the sessions it opened, and the hosts the server answers to."""

    def __init__(self, hosts: set[str], idle_seconds: float = 12 * 3600,
                 token: str | None = None) -> None:
        self.token = token or secrets.token_urlsafe(32)
        self.hosts = {h.lower() for h in hosts}
        self.idle_seconds = idle_seconds
        self._spent = False
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def exchange(self, token: str) -> str | None:
        """A new session id for the right, unspent token; None otherwise."""
        with self._lock:
            if self._spent or not hmac.compare_digest(token.encode(), self.token.encode()):
                return None
            self._spent = True
            session_id = secrets.token_urlsafe(32)
            self._sessions[session_id] = Session(secrets.token_urlsafe(32), Role.billing)
            return session_id

    def session(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        with self._lock:
            found = self._sessions.get(session_id)
            if found is None:
                return None
            now = time.monotonic()
            if now - found.last_seen > self.idle_seconds:
                del self._sessions[session_id]
                return None
            found.last_seen = now
            return found

    def host_allowed(self, host: str | None) -> bool:
        return bool(host) and host.lower() in self.hosts

    def origin_allowed(self, origin: str | None) -> bool:
        """A browser's Origin on a form post: absent, or one of the served addresses."""
        if origin is None:
            return True
        scheme, _, host = origin.partition("://")
        return scheme in ("http", "https") and self.host_allowed(host)


def secure_headers(response: Response) -> Response:
    for name, value in HEADERS.items():
        response.headers.setdefault(name, value)
    return response


def route_template(request: Request) -> str:
    """The matched route's template (``/cases/{key:path}``), never the path itself."""
    route = request.scope.get("route")
    if route is None and request.url.path.startswith(PUBLIC_PREFIXES):
        return "/static/{file}"
    return getattr(route, "path", None) or "(no route)"


def log_request(request: Request, status: int, started: float) -> None:
    elapsed = (time.perf_counter() - started) * 1000
    log.info("%s %s %d %.1fms", request.method, route_template(request), status, elapsed)


def current_session(request: Request) -> Session:
    """The request's session (the middleware already refused requests without one)."""
    session = request.state.session
    if session is None:
        raise HTTPException(403)
    return session


async def require_csrf(request: Request) -> None:
    """Every state-changing request carries the session's CSRF token (form field or header)."""
    session = current_session(request)
    sent = request.headers.get(CSRF_HEADER)
    if sent is None:
        form = await request.form()
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        raise HTTPException(403, "The form has expired or did not come from this page; "
                                 "reload the page and try again.")


def require_role(role: Role):
    """A dependency for routes only one role may use (issue 15: signing)."""

    def check(request: Request) -> Session:
        session = current_session(request)
        if session.role is not role:
            raise HTTPException(403, f"only a {role.value} account can do this")
        return session

    return check
