"""Drafting a letter through the one pipeline, and handing it to the browser.

The draft is written where the batch puts letters (``letters/<case_id>-<kind>.pdf``, and
``.docx`` for the Word copy) and recorded in the audit log by ``pipeline.record``, exactly as
the ``letter`` and ``appeal`` commands record theirs. It is made from the saved case file.
"""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from starlette.responses import RedirectResponse, Response

from coverage import pipeline
from coverage.accounts.store import Role
from coverage.errors import ReviewBlocked
from coverage.renderers import FORMATS
from coverage.web.app import Context, context
from coverage.web.readiness import practice_file
from coverage.web.routes_cases import case_or_404
from coverage.web.security import current_session, require_csrf, require_role
from coverage.web.worklist import letter_paths

router = APIRouter(dependencies=[Depends(require_role(Role.billing))])  # billing staff
Ctx = Annotated[Context, Depends(context)]
LETTER_FORMATS = ("pdf", "docx")
MEDIA = {"pdf": "application/pdf",
         "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document"}
COMMAND = "web"  # the audit log's command for letters drafted in the browser


def _inputs(ctx: Context, key: str) -> pipeline.Inputs:
    case = case_or_404(ctx, key)
    return pipeline.load_inputs(case.path, practice_file(ctx.ws, case.path))


@router.post("/letter/{key:path}", dependencies=[Depends(require_csrf)])
def draft(request: Request, ctx: Ctx, key: str,
          deliver: Annotated[str, Form()] = "open-pdf") -> Response:
    """Draft the letter the case calls for; ``deliver``: open-pdf, download-pdf or
    download-docx."""
    action, _, format = deliver.partition("-")
    if format not in LETTER_FORMATS or action not in ("open", "download"):
        raise HTTPException(404, "No such letter format.")
    inputs = _inputs(ctx, key)
    kind = pipeline.choose_kind(inputs, None)
    try:
        letter = pipeline.make_letter(inputs, ctx.today(), kind, formats=(FORMATS[format],))
    except ReviewBlocked as exc:
        return ctx.page(request, "message.html", status_code=409,
                        title="No letter: fix these first",
                        findings=exc.findings, lines=exc.lines(), back=f"/case/{quote(key)}")
    target = letter_paths(ctx.ws, inputs.case.case_id, kind.value)[format]
    user = current_session(request).user  # None for the loopback link's session
    pipeline.record(pipeline.outputs_for(letter, {format: target}), inputs,
                    command=f"{COMMAND} {kind.value}" + (f" by {user}" if user else ""),
                    kind=kind)
    download = "?download=1" if action == "download" else ""
    return RedirectResponse(f"/letter-file/{format}/{quote(key)}{download}", status_code=303)


@router.get("/letter-file/{format}/{key:path}")
def letter_file(ctx: Ctx, format: str, key: str, download: int = 0) -> Response:
    """The drafted letter: in the browser's own viewer, or (``download=1``) as a file."""
    if format not in LETTER_FORMATS:
        raise HTTPException(404, "No such letter format.")
    inputs = _inputs(ctx, key)
    kind = pipeline.choose_kind(inputs, None)
    path = letter_paths(ctx.ws, inputs.case.case_id, kind.value)[format]
    if not path.is_file():
        raise HTTPException(404, "No letter has been drafted for this case yet.")
    inline = format == "pdf" and not download
    disposition = "inline" if inline else "attachment"
    return Response(path.read_bytes(), media_type=MEDIA[format], headers={
        "Content-Disposition": f'{disposition}; filename="{path.name}"'})
