"""Sending a letter for review (billing), the physician's review queue, reading the frozen
letter, returning it with a comment, signing it, and downloading the signed letter.

A physician sees and acts only on requests for their own physician id: a request for a
colleague answers 403, whatever the link. Signing asks again for the account's password (with
the same lock-out as signing in) and for the signing identity's password; both are dropped
after use.
"""

from __future__ import annotations

import io
import threading
from datetime import UTC, datetime
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, HTTPException, Request
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import UploadFile
from starlette.responses import RedirectResponse, Response

from coverage.accounts.store import Role
from coverage.errors import LetterError, ReviewBlocked
from coverage.signoff.keystore import MAX_P12, KeyStore
from coverage.signoff.requests import Requests, ReviewRequest, State
from coverage.signoff.signer import sign_request
from coverage.web.app import Context, context
from coverage.web.readiness import practice_file
from coverage.web.routes_cases import case_or_404
from coverage.web.security import (
    Session,
    current_session,
    declared_length_within,
    require_csrf,
    require_role,
)

router = APIRouter()
Ctx = Annotated[Context, Depends(context)]
Physician = Annotated[Session, Depends(require_role(Role.physician))]
Billing = Annotated[Session, Depends(require_role(Role.billing))]
_PDFIUM = threading.Lock()  # pdfium is not thread-safe
PAGE_SCALE = 1.5  # 108 dpi: readable on a laptop screen


def physician_of(ctx: Context, session: Session):
    from coverage.loading import load_practice

    profile = ctx.ws.practice
    if profile is None:
        raise HTTPException(404, "This folder has no practice profile.")
    for physician in load_practice(profile).physicians:
        if physician.id == session.physician_id:
            return physician
    raise HTTPException(403, "Your account names a physician who is not in the practice "
                             "profile any more; ask whoever runs the server.")


def own_request(ctx: Context, session: Session, request_id: str) -> ReviewRequest:
    review = Requests(ctx.ws).get(request_id)
    if review is None:
        raise HTTPException(404, "No such review request.")
    if review.physician_id != session.physician_id:
        raise HTTPException(403, "This letter is for another physician to review and sign.")
    return review


@router.post("/send/{key:path}", dependencies=[Depends(require_csrf)])
def send_for_review(request: Request, ctx: Ctx, session: Billing, key: str) -> Response:
    """Render the final letter once, freeze it, and put it in the physician's queue."""
    case = case_or_404(ctx, key)
    try:
        Requests(ctx.ws).send(case.key, case.path, practice_file(ctx.ws, case.path),
                              session.user or "this-computer", ctx.today())
    except ReviewBlocked as exc:
        return ctx.page(request, "message.html", status_code=409,
                        title="Not sent: fix these first", findings=exc.findings,
                        lines=exc.lines(), back=f"/case/{quote(key)}")
    return RedirectResponse(f"/case/{quote(case.key)}?sent=1", status_code=303)


@router.get("/reviews")
def queue(request: Request, ctx: Ctx, session: Physician) -> Response:
    mine = [r for r in Requests(ctx.ws).all() if r.physician_id == session.physician_id]
    waiting = [r for r in mine if r.state is State.in_review]
    done = [r for r in mine if r.state is not State.in_review][:20]
    return ctx.page(request, "reviews.html", waiting=waiting, done=done)


def _review_page(ctx: Context, request: Request, session: Session, review: ReviewRequest,
                 status_code: int = 200, problems: list[str] | None = None) -> Response:
    stored = KeyStore(ctx.ws).stored(session.physician_id or "")
    return ctx.page(request, "review.html", status_code=status_code, review=review,
                    stored=stored, problems=problems or [], State=State)


@router.get("/reviews/{request_id}")
def review_page(request: Request, ctx: Ctx, session: Physician, request_id: str) -> Response:
    return _review_page(ctx, request, session, own_request(ctx, session, request_id))


@router.get("/reviews/{request_id}/page/{number}")
def page_image(ctx: Ctx, session: Physician, request_id: str, number: int) -> Response:
    """One page of the frozen letter as a PNG, rendered from the frozen bytes."""
    import pypdfium2

    review = own_request(ctx, session, request_id)
    if not 1 <= number <= review.pages:
        raise HTTPException(404, "No such page.")
    data = Requests(ctx.ws).frozen(review)
    with _PDFIUM:
        document = pypdfium2.PdfDocument(data)
        try:
            image = document[number - 1].render(scale=PAGE_SCALE).to_pil()
        finally:
            document.close()
    out = io.BytesIO()
    image.save(out, format="PNG")
    return Response(out.getvalue(), media_type="image/png")


@router.get("/reviews/{request_id}/pdf")
def frozen_pdf(ctx: Ctx, session: Physician, request_id: str) -> Response:
    review = own_request(ctx, session, request_id)
    name = f"{review.case_id}-{review.kind}-for-review.pdf"
    return Response(Requests(ctx.ws).frozen(review), media_type="application/pdf",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@router.post("/reviews/{request_id}/return", dependencies=[Depends(require_csrf)])
def give_back(request: Request, ctx: Ctx, session: Physician, request_id: str,
              comment: Annotated[str, Form(max_length=2000)] = "") -> Response:
    review = own_request(ctx, session, request_id)
    if not comment.strip():
        return _review_page(ctx, request, session, review, 400,
                            ["Say what billing should change (the comment is required)."])
    try:
        Requests(ctx.ws).give_back(review, session.user or "", comment,
                                   practice_file(ctx.ws, ctx.ws.cases / review.case_key))
    except LetterError as exc:
        return _review_page(ctx, request, session, review, 409, exc.lines())
    return RedirectResponse("/reviews", status_code=303)


@router.post("/reviews/{request_id}/sign")
async def sign(request: Request, ctx: Ctx, session: Physician, request_id: str) -> Response:
    """Sign exactly the frozen letter: the account's password again, then the identity's
    (the stored identity, or a .p12 file chosen for this signature)."""
    from coverage.web.routes_identity import FORM_OVERHEAD, TOO_LARGE

    review = own_request(ctx, session, request_id)
    if not declared_length_within(request, MAX_P12 + FORM_OVERHEAD):
        return _review_page(ctx, request, session, review, 413, [TOO_LARGE])
    await require_csrf(request)
    form = await request.form(max_files=1, max_fields=6)
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    upload = form.get("p12")
    chosen = await upload.read(MAX_P12 + 1) if isinstance(upload, UploadFile) and \
        upload.filename else None
    return await run_in_threadpool(_sign, ctx, request, session, review,
                                   fields.get("password", ""),
                                   fields.get("identity_password", ""), chosen)


def _sign(ctx: Context, request: Request, session: Session, review: ReviewRequest,
          password: str, identity_password: str, chosen: bytes | None) -> Response:
    gate, user = ctx.gate, session.user or ""
    wait = gate.lockout.wait(user, gate.clock())
    if wait > 0:
        return _review_page(ctx, request, session, review, 429, [
            f"Too many wrong passwords: try again in {int(wait) + 1} seconds."])
    if gate.users is None or gate.users.authenticate(user, password) is None:
        gate.lockout.failed(user, gate.clock())
        return _review_page(ctx, request, session, review, 401,
                            ["That is not your account's password; nothing was signed."])
    gate.lockout.succeeded(user)
    physician = physician_of(ctx, session)
    now = datetime.now(UTC).replace(microsecond=0)
    secret = identity_password.encode("utf-8")
    keys = KeyStore(ctx.ws)
    try:
        identity = (keys.for_one_signing(physician, chosen, secret, now) if chosen is not None
                    else keys.unlock(physician, secret, now))
        sign_request(ctx.ws, review, identity, user,
                     practice_file(ctx.ws, ctx.ws.cases / review.case_key), now)
    except LetterError as exc:
        return _review_page(ctx, request, session, Requests(ctx.ws).get(review.id) or review,
                            400, [*exc.lines(), "Nothing was signed."])
    return RedirectResponse(f"/reviews/{review.id}", status_code=303)


@router.get("/signed-file/{request_id}")
def signed_file(request: Request, ctx: Ctx, request_id: str) -> Response:
    """The signed letter (billing staff, or the physician who signed it), as a download."""
    session = current_session(request)
    review = Requests(ctx.ws).get(request_id)
    if review is None or review.state is not State.signed:
        raise HTTPException(404, "No signed letter for this request.")
    if session.role is Role.physician and review.physician_id != session.physician_id:
        raise HTTPException(403, "This letter is another physician's.")
    path = ctx.ws.signed / review.signed_file
    if path.parent != ctx.ws.signed or not path.is_file():
        raise HTTPException(404, "The signed letter is no longer in signed/.")
    return Response(path.read_bytes(), media_type="application/pdf", headers={
        "Content-Disposition": f'attachment; filename="{path.name}"'})
