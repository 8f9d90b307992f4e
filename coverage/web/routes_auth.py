"""Signing in and out: a name and password page, sign-out, and sign-out everywhere.

The sign-in form is protected against login CSRF by a double-submit value (a short-lived
cookie that only this page sets, repeated in the form) and by the Origin check; a successful
sign-in always issues a new session id and drops any the browser had (no session fixation).
"""

from __future__ import annotations

import hmac
import secrets
from typing import Annotated

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from coverage.accounts.store import Role
from coverage.web.app import SIGN_IN_PATH, Context, context
from coverage.web.security import SESSION_COOKIE, current_session, require_csrf

router = APIRouter()
Ctx = Annotated[Context, Depends(context)]

PRE_COOKIE = "kl_sign_in"  # the sign-in form's own CSRF value, before there is a session


def home_for(role: Role) -> str:
    return "/reviews" if role is Role.physician else "/"


def _form(ctx: Context, request: Request, status_code: int = 200, message: str = "",
          name: str = "") -> Response:
    value = secrets.token_urlsafe(32)
    response = ctx.page(request, "sign_in.html", status_code=status_code, sign_in_csrf=value,
                        message=message, user_name=name,
                        tone="advisory" if status_code == 200 else "blocking")
    response.set_cookie(PRE_COOKIE, value, httponly=True, samesite="strict", path=SIGN_IN_PATH,
                        secure=ctx.secure, max_age=3600)
    return response


@router.get(SIGN_IN_PATH)
def sign_in_page(request: Request, ctx: Ctx, ended: int = 0) -> Response:
    session = ctx.gate.session(request.cookies.get(SESSION_COOKIE))
    if session is not None and session.user is not None:
        return RedirectResponse(home_for(session.role), status_code=303)
    return _form(ctx, request, message="Your session ended; sign in again." if ended else "")


@router.post(SIGN_IN_PATH)
def sign_in(request: Request, ctx: Ctx, name: Annotated[str, Form(max_length=64)] = "",
            password: Annotated[str, Form(max_length=1024)] = "",
            csrf: Annotated[str, Form(alias="_csrf", max_length=128)] = "") -> Response:
    expected = request.cookies.get(PRE_COOKIE, "")
    if not expected or not hmac.compare_digest(csrf.encode(), expected.encode()):
        return _form(ctx, request, 403, "The sign-in form expired; try again.", name)
    result = ctx.gate.sign_in(name, password, replacing=request.cookies.get(SESSION_COOKIE))
    if result.session_id is None:
        return _form(ctx, request, 401, result.message, name)
    session = ctx.gate.session(result.session_id)
    response = RedirectResponse(home_for(session.role if session else Role.billing),
                                status_code=303)
    response.set_cookie(SESSION_COOKIE, result.session_id, httponly=True, samesite="strict",
                        path="/", secure=ctx.secure)
    response.delete_cookie(PRE_COOKIE, path=SIGN_IN_PATH)
    return response


@router.post("/sign-out", dependencies=[Depends(require_csrf)])
def sign_out(request: Request, ctx: Ctx) -> Response:
    ctx.gate.end(request.cookies.get(SESSION_COOKIE))
    response = RedirectResponse(SIGN_IN_PATH, status_code=303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


@router.post("/sign-out-everywhere", dependencies=[Depends(require_csrf)])
def sign_out_everywhere(request: Request, ctx: Ctx) -> Response:
    """Every session of this account, on every computer (the loopback token's session has no
    account: it just ends)."""
    session = current_session(request)
    if session.user is not None:
        ctx.gate.end_everywhere(session.user)
    return sign_out(request, ctx)
