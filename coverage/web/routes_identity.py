"""A physician's signing identity: upload the PKCS#12 once; it is kept encrypted and pinned.

The body is refused before it is read when it is larger than an identity can be; the file and
its password are checked before anything is written (:mod:`coverage.signoff.keystore`).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from coverage.accounts.store import Role
from coverage.errors import LetterError
from coverage.signoff.keystore import MAX_P12, KeyStore
from coverage.web.app import Context, context
from coverage.web.routes_reviews import physician_of
from coverage.web.security import Session, declared_length_within, require_csrf, require_role

router = APIRouter()
Ctx = Annotated[Context, Depends(context)]
Physician = Annotated[Session, Depends(require_role(Role.physician))]
FORM_OVERHEAD = 16 * 1024  # multipart headers, the passwords and the CSRF field
TOO_LARGE = (f"That file is larger than {MAX_P12 // 1024} KB: a signing identity (.p12 or .pfx) "
             "is a few KB. Choose the identity file your certificate authority gave you.")


def _page(ctx: Context, request: Request, session: Session, status_code: int = 200,
          problems: list[str] | None = None, saved: bool = False) -> Response:
    return ctx.page(request, "identity.html", status_code=status_code, saved=saved,
                    stored=KeyStore(ctx.ws).stored(session.physician_id or ""),
                    problems=problems or [], limit_kb=MAX_P12 // 1024)


@router.get("/identity")
def identity_page(request: Request, ctx: Ctx, session: Physician, saved: int = 0) -> Response:
    return _page(ctx, request, session, saved=bool(saved))


@router.post("/identity")
async def upload_identity(request: Request, ctx: Ctx, session: Physician) -> Response:
    if not declared_length_within(request, MAX_P12 + FORM_OVERHEAD):
        return _page(ctx, request, session, 413, [TOO_LARGE])
    await require_csrf(request)
    form = await request.form(max_files=1, max_fields=4)
    upload, password = form.get("p12"), form.get("password")
    if not isinstance(upload, UploadFile) or not upload.filename:
        return _page(ctx, request, session, 400, ["Choose your .p12 or .pfx file."])
    data = await upload.read(MAX_P12 + 1)
    if len(data) > MAX_P12:
        return _page(ctx, request, session, 413, [TOO_LARGE])
    physician = physician_of(ctx, session)
    try:
        await run_in_threadpool(KeyStore(ctx.ws).upload, physician, data,
                                str(password or "").encode("utf-8"), datetime.now(UTC))
    except LetterError as exc:
        return _page(ctx, request, session, 400, [*exc.lines(), "Nothing was stored."])
    return RedirectResponse("/identity?saved=1", status_code=303)
