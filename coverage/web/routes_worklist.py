"""Opening the workspace, the worklist, a new case, and the ICD-10-CM code search."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request
from starlette.responses import RedirectResponse, Response

from coverage.accounts.store import Role
from coverage.errors import LetterError
from coverage.starter import STARTER_CONDITIONS
from coverage.web.app import OPEN_PATH, Context, context
from coverage.web.case_audit import case_writes
from coverage.web.code_search import search
from coverage.web.readiness import Status
from coverage.web.security import SESSION_COOKIE, current_session, require_csrf, require_role
from coverage.web.store import create_case

router = APIRouter()
Ctx = Annotated[Context, Depends(context)]
CONDITION_NAMES = {
    "crps": "CRPS type I", "crps-2": "CRPS type II (causalgia)", "phn": "Postherpetic neuralgia",
    "pdpn": "Painful diabetic peripheral neuropathy",
    "peripheral-neuropathy": "Peripheral neuropathy", "fibromyalgia": "Fibromyalgia",
}


@router.get(OPEN_PATH)
def open_workspace(request: Request, ctx: Ctx, token: str = "") -> Response:
    """The one-time token for a session cookie; the token is spent. A browser that already
    has a session (the link clicked twice) goes to the worklist."""
    if ctx.gate.session(request.cookies.get(SESSION_COOKIE)) is not None:
        return RedirectResponse("/", status_code=303)
    session_id = ctx.gate.exchange(token)
    if session_id is None:
        return ctx.page(request, "forbidden.html", status_code=403, message=(
            "This link was already used or is not the one `ketamine-letters serve` printed. "
            "Restart `serve` for a new link."))
    response = RedirectResponse("/", status_code=303)
    response.set_cookie(SESSION_COOKIE, session_id, httponly=True, samesite="strict",
                        path="/")
    return response


@router.get("/")
def worklist(request: Request, ctx: Ctx, q: str = "", status: str = "") -> Response:
    session = current_session(request)
    if session.role is Role.physician:  # a physician's home is the review queue
        return RedirectResponse("/reviews", status_code=303)
    today = ctx.today()
    status = status if status in {s.value for s in Status} else ""
    rows = ctx.worklist.rows(today, q, status)
    name = "_worklist_rows.html" if request.headers.get("hx-request") else "worklist.html"
    from coverage.signoff.requests import Requests

    return ctx.page(request, name, rows=rows, q=q, status=status, statuses=list(Status),
                    reviews=Requests(ctx.ws).latest_by_case())


@router.get("/cases/new", dependencies=[Depends(require_role(Role.billing))])
def new_case_form(request: Request, ctx: Ctx) -> Response:
    return ctx.page(request, "new_case.html", conditions=CONDITION_NAMES, problems=[])


@router.post("/cases/new", dependencies=[Depends(require_role(Role.billing)),
                                      Depends(require_csrf)])
def new_case(request: Request, ctx: Ctx, condition: Annotated[str, Form()] = "",
             case_id: Annotated[str, Form()] = "") -> Response:
    try:
        created = create_case(ctx.ws, condition, case_id,
                              case_writes(ctx.ws, current_session(request).user, "new-case"))
    except LetterError as exc:
        return ctx.page(request, "new_case.html", status_code=400, conditions=CONDITION_NAMES,
                        problems=exc.lines(), chosen=condition, case_id=case_id)
    return RedirectResponse(f"/case/{quote(created.key)}", status_code=303)


assert set(CONDITION_NAMES) == set(STARTER_CONDITIONS)  # one list of conditions


def _code_set(ctx: Context):
    from coverage import pipeline
    from coverage.loading import load_practice

    profile = ctx.ws.practice
    practice = load_practice(profile) if profile else None
    path = pipeline.code_set_path(practice, profile, None) if practice and profile else None
    from coverage.codes import load_code_set

    return load_code_set(path)


@router.get("/codes", dependencies=[Depends(require_role(Role.billing))])
def code_search(request: Request, ctx: Ctx, field: str = "") -> Response:
    """Billable codes for what is typed in a code field (the field's own value)."""
    query = request.query_params.get(field, "") if field else request.query_params.get("q", "")
    results = search(_code_set(ctx), query)
    return ctx.page(request, "_code_results.html", results=results, field=field, query=query)
