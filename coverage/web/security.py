"""Who may use the page, and the headers every answer carries.

Loopback mode, like a notebook server: ``serve`` prints a URL with a one-time token; the first
visit trades it for a session cookie (HttpOnly, SameSite=Strict) and the token is spent.
Without a session every page answers 403. Requests whose Host header is not the address served
are refused (DNS rebinding); every form carries the session's CSRF token and a cross-site
Origin is refused. Pages are ``no-store`` and under a strict Content-Security-Policy (scripts
and styles from the server's own static files only; no framing).

Accounts (issue 15): with users in the folder (``ketamine-letters users``) staff sign in with
a name and password (:mod:`.routes_auth`); the sign-in issues a new session id (no fixation),
sessions end after ``idle_seconds`` without a request, and repeated failures lock the name
out for growing delays (:class:`Lockout`). A session carries its user's ``generation``: a
disabled account, a new password or "sign out everywhere" raises it and every older session
ends. The one-time token opens a ``billing`` session with no user: it never signs
(:func:`require_role`, :func:`require_physician`). The server log carries method, route
template, status and time, never a path with a case in it, a query string or a form value.
"""

from __future__ import annotations

import hmac
import logging
import secrets
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

from fastapi import HTTPException, Request
from starlette.requests import ClientDisconnect
from starlette.responses import Response

from coverage.accounts.store import Role, User, UserStore
from coverage.errors import LetterError

SESSION_COOKIE = "kl_session"
CSRF_FIELD = "_csrf"
CSRF_HEADER = "x-csrf-token"
LINK_IDLE_SECONDS = 12 * 3600  # the one-time link cannot be used again: a working day
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


@dataclass
class Session:
    csrf: str
    role: Role
    user: str | None = None  # the account; None for the loopback token's session
    last_seen: float = field(default_factory=time.monotonic)
    physician_id: str | None = None  # a physician account's physician in the profile
    generation: int = 0  # the user's generation when the session opened


class Lockout:
    """Failed sign-ins per name: after ``free`` failures each further one locks the name for
    twice as long as the last (``base`` seconds first, ``cap`` at most); success clears it."""

    def __init__(self, free: int = 3, base: float = 5.0, cap: float = 900.0) -> None:
        self.free, self.base, self.cap = free, base, cap
        self._failures: dict[str, tuple[int, float]] = {}  # name -> (count, locked until)

    def wait(self, name: str, now: float) -> float:
        """Seconds until ``name`` may try again (0: now)."""
        _, until = self._failures.get(name, (0, 0.0))
        return max(0.0, until - now)

    def failed(self, name: str, now: float) -> None:
        count, _ = self._failures.get(name, (0, 0.0))
        count += 1
        delay = 0.0 if count <= self.free else min(self.cap, self.base * 2 ** (count - self.free
                                                                               - 1))
        self._failures[name] = (count, now + delay)

    def succeeded(self, name: str) -> None:
        self._failures.pop(name, None)


@dataclass(frozen=True)
class SignIn:
    """What a sign-in attempt gave: a new session id, or why not."""

    session_id: str | None
    message: str = ""


class Gate:
    """The one-time token, the sessions it opened, and the hosts the server answers to."""

    def __init__(self, hosts: set[str], idle_seconds: float = 15 * 60,
                 token: str | None = None, users: UserStore | None = None,
                 clock: Callable[[], float] = time.monotonic, use_token: bool = True) -> None:
        self.token = token or secrets.token_urlsafe(32)
        self.hosts = {h.lower() for h in hosts}
        self.idle_seconds = idle_seconds
        self.users = users
        self.clock = clock
        self.lockout = Lockout()
        self._spent = not use_token  # office mode: no token, every visitor signs in
        self._sessions: dict[str, Session] = {}
        self._lock = threading.Lock()

    def sign_in(self, name: str, password: str, replacing: str | None = None) -> SignIn:
        """A new session for the right name and password (the old session id, if any, is
        dropped: an id planted before sign-in is never the one that signs); lock-out first."""
        name = name.strip().lower()
        if self.users is None:
            return SignIn(None, "This workspace has no accounts; add one with "
                                "`ketamine-letters users add`.")
        wait = self.lockout.wait(name, self.clock())
        if wait > 0:
            return SignIn(None, f"Too many failed sign-ins for this name: try again in "
                                f"{int(wait) + 1} seconds.")
        try:
            user = self.users.authenticate(name, password)
        except LetterError:  # no server path for a visitor who has not signed in
            return SignIn(None, "The accounts file cannot be read: whoever runs the server, "
                                "restore .ketamine-letters/users.json from the backup.")
        if user is None:
            self.lockout.failed(name, self.clock())
            return SignIn(None, "That name and password do not match an active account.")
        self.lockout.succeeded(name)
        with self._lock:
            if replacing:
                self._sessions.pop(replacing, None)
            session_id = secrets.token_urlsafe(32)
            self._sessions[session_id] = Session(
                secrets.token_urlsafe(32), user.role, user.name, self.clock(),
                user.physician_id, user.generation)
        return SignIn(session_id)

    def end(self, session_id: str | None) -> None:
        with self._lock:
            self._sessions.pop(session_id or "", None)

    def end_everywhere(self, user: str) -> None:
        """Every session of ``user``, on every computer (its generation is raised)."""
        if self.users is not None:
            self.users.sign_out_everywhere(user)
        with self._lock:
            for key in [k for k, s in self._sessions.items() if s.user == user]:
                del self._sessions[key]

    def account(self, session: Session) -> User | None:
        """The session's user as the store has it now; None if disabled or signed out."""
        if session.user is None or self.users is None:
            return None
        try:
            user = self.users.get(session.user)
        except LetterError:  # a damaged users file: fail closed, the sign-in page says why
            return None
        if user is None or user.disabled or user.generation != session.generation:
            return None
        return user

    def exchange(self, token: str) -> str | None:
        """A new session id for the right, unspent token; None otherwise."""
        with self._lock:
            if self._spent or not hmac.compare_digest(token.encode(), self.token.encode()):
                return None
            self._spent = True
            session_id = secrets.token_urlsafe(32)
            self._sessions[session_id] = Session(secrets.token_urlsafe(32), Role.billing,
                                                 last_seen=self.clock())
            return session_id

    def session(self, session_id: str | None) -> Session | None:
        if not session_id:
            return None
        with self._lock:
            found = self._sessions.get(session_id)
            if found is None:
                return None
            now = self.clock()
            idle = self.idle_seconds if found.user is not None else LINK_IDLE_SECONDS
            if now - found.last_seen > idle:
                del self._sessions[session_id]
                return None
        if found.user is not None and self.account(found) is None:
            self.end(session_id)  # disabled, new password, or signed out everywhere
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
        try:
            form = await request.form()
        except ClientDisconnect:  # the browser gave up on it (a live review overtaken)
            raise HTTPException(400, "The request was cancelled by the browser.") from None
        value = form.get(CSRF_FIELD)
        sent = value if isinstance(value, str) else None
    if not sent or not hmac.compare_digest(sent.encode(), session.csrf.encode()):
        raise HTTPException(403, "The form has expired or did not come from this page; "
                                 "reload the page and try again.")


def require_role(role: Role):
    """A dependency for routes only one role may use; the routes record it (``app.routes``
    is checked against the rules in the tests)."""

    def check(request: Request) -> Session:
        session = current_session(request)
        if session.role is not role:
            raise HTTPException(403, f"Only a {role.value} account can do this.")
        if role is Role.physician and (session.user is None or session.physician_id is None):
            raise HTTPException(403, "Only a physician's own account can do this.")
        return session

    check.role = role  # type: ignore[attr-defined]
    return check


def declared_length_within(request: Request, limit: int) -> bool:
    """True when the request declares a body length of at most ``limit`` bytes: uploads are
    refused before they are read, and a body of unknown length is never parsed."""
    length = request.headers.get("content-length")
    return length is not None and length.isdigit() and int(length) <= limit
