"""Signing a review request: exactly the frozen bytes, verified before anyone downloads them.

The physician's identity is unlocked with its password for this one signing; the signature is
an incremental update appended to the frozen letter (so the bytes the physician reviewed are
the signed revision, byte for byte); the result is checked with :func:`verify_pdf`, the code
``ketamine-letters verify`` runs, and only then written to ``signed/`` with its audit event
(the user, the physician id and NPI; never the patient) through ``pipeline.record``.
"""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime
from pathlib import Path

from coverage import pipeline
from coverage.errors import SigningError
from coverage.files import sha256_file
from coverage.kinds import LetterKind
from coverage.signing import Identity, sign_pdf, verify_pdf
from coverage.signoff.requests import CHANGED, Requests, ReviewRequest, State, now_text
from coverage.workspace import Workspace


def signed_path(ws: Workspace, request: ReviewRequest) -> Path:
    """``signed/<case_id>-<kind>.pdf``: where the worklist looks for a signed letter."""
    return ws.signed / f"{request.case_id}-{request.kind}.pdf"


def sign_request(ws: Workspace, request: ReviewRequest, identity: Identity, user: str,
                 practice_file: Path | None, now: datetime) -> ReviewRequest:
    """Sign the frozen letter of ``request``; SigningError (nothing written) otherwise."""
    requests = Requests(ws)
    request = requests.refresh(request)
    if request.state is not State.in_review:
        raise SigningError(f"this request is {request.state.value}"
                           + (f": {request.reason}" if request.reason else ""))
    case_file = ws.cases / request.case_key
    inputs = pipeline.load_inputs(case_file, practice_file)
    if inputs.physician.id != request.physician_id:
        raise SigningError("the case now names another prescriber; send it for review again")
    frozen = requests.frozen(request)
    signed = sign_pdf(frozen, identity, page=request.signature_page,
                      box=request.signature_box, when=now,
                      reason=f"{inputs.physician.display_name} approves this letter",
                      location=inputs.practice.address.city, source="the letter")
    if not signed.startswith(frozen):  # the reviewed bytes are the signed revision
        raise SigningError("the signature did not keep the reviewed letter as it was; "
                           "nothing was kept")
    target = signed_path(ws, request)
    result = verify_pdf(signed, target.name)
    if not result.ok:
        raise SigningError("the signed letter did not pass verification ("
                           + "; ".join(result.problems or ("not intact",))
                           + "); nothing was kept")
    if sha256_file(case_file) != request.case_sha256:  # changed while signing
        requests.refresh(request)
        raise SigningError(CHANGED)
    physician = inputs.physician
    output = pipeline.Output(target, signed, pipeline.PDF)
    pipeline.record([output], inputs, command=f"web sign by {user}",
                    kind=LetterKind(request.kind), signer=f"{physician.id} NPI {physician.npi}")
    return requests.save(replace(request, state=State.signed, decided_by=user,
                                 decided_at=now_text(now), signed_file=target.name))
