"""The FastAPI application: the guard around every request, templates, static files, routes.

:func:`create_app` takes the workspace and the :class:`~coverage.web.security.Gate`; nothing
here reads the network or the clock except through what it is given, so tests build the same
app the server runs.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from importlib.resources import files
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import HTTPException
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from starlette.responses import HTMLResponse, RedirectResponse, Response

from coverage.errors import LetterError
from coverage.settings import tool_version
from coverage.web.security import (
    PUBLIC_PREFIXES,
    SAFE_METHODS,
    SESSION_COOKIE,
    Gate,
    log_request,
    secure_headers,
)
from coverage.web.view import TEMPLATE_HELPERS
from coverage.web.worklist import Worklist
from coverage.workspace import Workspace

PACKAGE = files("coverage.web")
OPEN_PATH = "/open"
SIGN_IN_PATH = "/sign-in"  # routes_auth; public, like the one-time link


@dataclass
class Context:
    """What every route needs: the folder, the gate, the worklist cache and today's date."""

    ws: Workspace
    gate: Gate
    worklist: Worklist
    templates: Jinja2Templates
    today: Callable[[], date]
    secure: bool = False  # office mode (TLS): cookies are Secure

    def page(self, request: Request, name: str, status_code: int = 200, **values: Any
             ) -> HTMLResponse:
        session = getattr(request.state, "session", None)
        values.setdefault("today", self.today())
        return self.templates.TemplateResponse(
            request, name,
            {"csrf": session.csrf if session else "", "folder": self.ws.root.name,
             "version": tool_version(), "session": session, "office": self.secure, **values},
            status_code=status_code,
        )


def _forbidden(ctx: Context, request: Request, message: str) -> Response:
    return ctx.page(request, "forbidden.html", status_code=403, message=message)


def _has_accounts(ctx: Context) -> bool:
    try:
        return ctx.gate.users is not None and ctx.gate.users.any_active()
    except LetterError:  # a damaged users file: the sign-in page reports it
        return True


def _no_session(ctx: Context, request: Request) -> Response:
    """No (or an ended) session: the sign-in page when the folder has accounts, else the
    loopback link's message."""
    if ctx.gate.users is not None and _has_accounts(ctx):
        if request.method == "GET" and not request.headers.get("hx-request"):
            ended = "?ended=1" if request.cookies.get(SESSION_COOKIE) else ""
            return RedirectResponse(f"{SIGN_IN_PATH}{ended}", status_code=303)
        return _forbidden(ctx, request, "Your session has ended: sign in again.")
    return _forbidden(ctx, request, "Open the workspace with the link that "
                      "`ketamine-letters serve` printed.")


def create_app(ws: Workspace, gate: Gate, today: Callable[[], date] = date.today,
               secure: bool = False) -> FastAPI:
    app = FastAPI(docs_url=None, redoc_url=None, openapi_url=None)
    templates = Jinja2Templates(directory=str(Path(str(PACKAGE / "templates"))))
    templates.env.globals.update(TEMPLATE_HELPERS)
    ctx = Context(ws, gate, Worklist(ws), templates, today, secure)
    app.state.ctx = ctx

    @app.middleware("http")
    async def guard(request: Request, call_next: Callable) -> Response:
        started = time.perf_counter()
        request.state.session = None
        path = request.url.path
        if not gate.host_allowed(request.headers.get("host")):
            response: Response = Response("unknown host\n", status_code=403,
                                          media_type="text/plain")
        elif (path in (OPEN_PATH, SIGN_IN_PATH) or path.startswith(PUBLIC_PREFIXES)) and (
                request.method in SAFE_METHODS
                or gate.origin_allowed(request.headers.get("origin"))):
            response = await call_next(request)
        elif path in (OPEN_PATH, SIGN_IN_PATH) or path.startswith(PUBLIC_PREFIXES):
            response = _forbidden(ctx, request, "That request came from another site.")
        else:
            request.state.session = gate.session(request.cookies.get(SESSION_COOKIE))
            if request.state.session is None:
                response = _no_session(ctx, request)
            elif (request.method not in SAFE_METHODS
                  and not gate.origin_allowed(request.headers.get("origin"))):
                response = _forbidden(ctx, request, "That request came from another site.")
            else:
                response = await call_next(request)
        secure_headers(response)
        if ctx.secure:  # office mode: browsers keep to TLS for this name
            response.headers.setdefault("Strict-Transport-Security", "max-age=31536000")
        log_request(request, response.status_code, started)
        return response

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> Response:
        if exc.status_code == 403:
            return _forbidden(ctx, request, str(exc.detail))
        return ctx.page(request, "message.html", status_code=exc.status_code,
                        title="Not found" if exc.status_code == 404 else "Error",
                        lines=[str(exc.detail)])

    @app.exception_handler(LetterError)
    async def letter_error(request: Request, exc: LetterError) -> Response:
        return ctx.page(request, "message.html", status_code=400 if exc.exit_code == 2 else 500,
                        title="That did not work", lines=exc.lines())

    app.mount("/static", StaticFiles(directory=str(Path(str(PACKAGE / "static")))),
              name="static")
    from coverage.web import (
        routes_auth,
        routes_cases,
        routes_identity,
        routes_imports,
        routes_letters,
        routes_reviews,
        routes_worklist,
    )

    for module in (routes_auth, routes_worklist, routes_imports, routes_cases, routes_letters,
                   routes_reviews, routes_identity):
        app.include_router(module.router)
    return app


def context(request: Request) -> Context:
    """The application's :class:`Context`, for routes (a FastAPI dependency)."""
    return request.app.state.ctx
