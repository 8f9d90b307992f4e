"""The case form: open a case, review it as staff type, add and remove rows, save it."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import quote

from fastapi import APIRouter, Depends, HTTPException, Request
from starlette.responses import RedirectResponse, Response

from coverage.accounts.store import Role
from coverage.errors import InputError
from coverage.web.app import Context, context
from coverage.web.case_audit import case_writes
from coverage.web.form_data import case_data, edit_rows, merge_into
from coverage.web.readiness import Readiness, assess, practice_file
from coverage.web.schema_form import case_form
from coverage.web.security import current_session, require_csrf, require_role
from coverage.web.store import CaseFile, Conflict, find, open_case, save_case
from coverage.web.view import place
from coverage.web.worklist import letter_paths
from coverage.yaml_files import load_yaml

router = APIRouter(dependencies=[Depends(require_role(Role.billing))])  # billing staff
Ctx = Annotated[Context, Depends(context)]
HASH_FIELD = "_hash"
ROW_FIELD = "_row"


def case_or_404(ctx: Context, key: str) -> CaseFile:
    found = find(ctx.ws, key)
    if found is None:
        raise HTTPException(404, "No such case file in this folder.")
    return found


async def _posted(request: Request) -> tuple[list[tuple[str, str]], dict[str, str]]:
    """(the case's fields, the form's own fields such as _hash) from a posted form."""
    form = await request.form()
    fields, own = [], {}
    for name, value in form.multi_items():
        if not isinstance(value, str):
            continue
        if name.startswith("_"):
            own[name] = value
        else:
            fields.append((name, value))
    return fields, own


def _assess(ctx: Context, case: CaseFile, data: Any) -> Readiness:
    return assess(data, str(case.path), practice_file(ctx.ws, case.path), ctx.today())


def _form_page(ctx: Context, request: Request, case: CaseFile, data: Any, digest: str,
               status_code: int = 200, **extra: Any) -> Response:
    readiness = _assess(ctx, case, data)
    drafts = {}
    if readiness.case_id and readiness.kind:
        paths = letter_paths(ctx.ws, readiness.case_id, readiness.kind.value)
        drafts = {fmt: paths[fmt].name for fmt in ("pdf", "docx") if paths[fmt].is_file()}
    from coverage.signoff.requests import Requests

    review = Requests(ctx.ws).latest_by_case().get(case.key)
    return ctx.page(request, "case.html", status_code=status_code, case=case, data=data,
                    digest=digest, nodes=case_form(), readiness=readiness,
                    placed=place(readiness, data), drafts=drafts, review=review, **extra)


@router.get("/case/{key:path}")
def case_page(request: Request, ctx: Ctx, key: str, saved: int = 0, sent: int = 0
              ) -> Response:
    case = case_or_404(ctx, key)
    opened = open_case(case)
    try:
        data = load_yaml(opened.text, str(case.path))
    except InputError as exc:
        return ctx.page(request, "message.html", status_code=400, title="This case file cannot be "
                        "shown as a form", lines=[*exc.lines(), "Fix it in a text editor, or "
                        "run `ketamine-letters check` on it."])
    return _form_page(ctx, request, case, data, opened.digest, saved=bool(saved),
                      sent=bool(sent))


@router.post("/review/{key:path}", dependencies=[Depends(require_csrf)])
async def live_review(request: Request, ctx: Ctx, key: str) -> Response:
    """The readiness review of what the form holds now (not saved): the findings panel, and
    each field's messages swapped in beside it."""
    case = case_or_404(ctx, key)
    fields, _ = await _posted(request)
    data = case_data(fields)
    readiness = _assess(ctx, case, data)
    return ctx.page(request, "_review.html", readiness=readiness, placed=place(readiness, data),
                    oob=True)


@router.post("/rows/{key:path}", dependencies=[Depends(require_csrf)])
async def edit_table(request: Request, ctx: Ctx, key: str) -> Response:
    """Add or remove a table row: the form's fields again, from what was typed (not saved)."""
    case = case_or_404(ctx, key)
    fields, own = await _posted(request)
    data = edit_rows(case_data(fields), own.get(ROW_FIELD, ""))
    readiness = _assess(ctx, case, data)
    response = ctx.page(request, "_case_fields.html", case=case, data=data, nodes=case_form(),
                        readiness=readiness, placed=place(readiness, data))
    response.headers["HX-Trigger"] = "case-changed"  # the review panel follows
    return response


@router.post("/save/{key:path}", dependencies=[Depends(require_csrf)])
async def save(request: Request, ctx: Ctx, key: str) -> Response:
    """Write the form into the file, keeping its comments; refuse if it changed meanwhile."""
    case = case_or_404(ctx, key)
    fields, own = await _posted(request)
    data = case_data(fields)
    try:
        save_case(case, own.get(HASH_FIELD, ""), lambda doc: merge_into(doc, data),
                  case_writes(ctx.ws, current_session(request).user, "save-case"))
    except Conflict as conflict:
        kept = conflict.kept.relative_to(ctx.ws.root).as_posix()
        return _form_page(ctx, request, case, data, conflict.current.digest, status_code=409,
                          conflict=conflict, kept=kept)
    return RedirectResponse(f"/case/{quote(case.key)}?saved=1", status_code=303)

