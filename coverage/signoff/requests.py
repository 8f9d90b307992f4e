"""Review requests: a case's final letter, rendered once and frozen for the physician.

"Send for review" renders the letter through the pipeline as it will be signed (no DRAFT mark,
the signature box already saying who signs, the letter date fixed at sending) and keeps those
bytes with their SHA-256 in ``.ketamine-letters/reviews/<id>.pdf``, beside the request
(``<id>.json``: who sent it, for which physician, the case file's hash, the readiness findings
the physician reads with it). The physician reviews exactly those pages and signing signs
exactly those bytes (:mod:`.signer`). When the case file changes after sending, the request is
withdrawn, and says why. Request ids are random: a request file never names a patient.
"""

from __future__ import annotations

import json
import re
import secrets
from dataclasses import asdict, dataclass, replace
from datetime import UTC, date, datetime
from enum import StrEnum
from pathlib import Path

from coverage import pipeline
from coverage.errors import SigningError
from coverage.files import PRIVATE_MODE, read_regular, sha256_bytes, sha256_file, write_atomic
from coverage.workspace import Workspace

REVIEWS = ("reviews",)  # inside the state folder
REQUEST_ID = re.compile(r"^[0-9a-f]{16}$")
CHANGED = "the case file changed after it was sent for review; send it again"
REPLACED = "a newer request for this case was sent"


class State(StrEnum):
    in_review = "in review"
    returned = "returned"
    withdrawn = "withdrawn"
    signed = "signed"


@dataclass(frozen=True)
class ReviewRequest:
    id: str
    case_key: str  # the case file's path inside cases/
    case_id: str
    kind: str
    physician_id: str
    sent_by: str
    sent_at: str
    letter_date: str
    case_sha256: str
    pdf_sha256: str
    pages: int
    signature_page: int
    signature_box: tuple[float, float, float, float]
    findings: tuple[str, ...] = ()  # the readiness findings (advisory), as check words them
    state: State = State.in_review
    comment: str = ""
    decided_by: str = ""
    decided_at: str = ""
    reason: str = ""  # why it was withdrawn
    signed_file: str = ""  # inside signed/


def review_lines(physician) -> tuple[str, ...]:
    """The signature box of the frozen letter: who signs, and that the signature (with its
    own signing time) is in the PDF; no time is printed, since the bytes exist before it."""
    from coverage.signing.certificate import physician_cn

    return (f"Digitally signed by {physician_cn(physician)}", f"NPI {physician.npi}",
            "Digital signature (PAdES): any PDF reader can check it")


def now_text(now: datetime | None = None) -> str:
    return (now or datetime.now(UTC)).replace(microsecond=0).isoformat()


class Requests:
    """The review requests of one workspace."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    @property
    def folder(self) -> Path:
        return self.ws.state.joinpath(*REVIEWS)

    def _path(self, request_id: str, suffix: str) -> Path:
        if not REQUEST_ID.match(request_id):  # never a path from a request parameter
            raise KeyError(request_id)
        return self.folder / f"{request_id}{suffix}"

    def save(self, request: ReviewRequest) -> ReviewRequest:
        self.ws.state_folder(*REVIEWS)
        write_atomic(self._path(request.id, ".json"),
                     json.dumps(asdict(request), indent=2).encode("utf-8"), mode=PRIVATE_MODE)
        return request

    def get(self, request_id: str) -> ReviewRequest | None:
        try:
            data = json.loads(self._path(request_id, ".json").read_bytes())
        except (KeyError, FileNotFoundError, ValueError):
            return None
        data["state"] = State(data["state"])
        data["signature_box"] = tuple(data["signature_box"])
        data["findings"] = tuple(data["findings"])
        return self.refresh(ReviewRequest(**data))

    def all(self) -> list[ReviewRequest]:
        if not self.folder.is_dir():
            return []
        found = (self.get(p.stem) for p in self.folder.glob("*.json"))
        return sorted((r for r in found if r), key=lambda r: r.sent_at, reverse=True)

    def latest_by_case(self) -> dict[str, ReviewRequest]:
        latest: dict[str, ReviewRequest] = {}
        for request in self.all():  # newest first
            latest.setdefault(request.case_key, request)
        return latest

    def refresh(self, request: ReviewRequest) -> ReviewRequest:
        """Withdraw a request in review whose case file changed (or went) since sending."""
        if request.state is not State.in_review:
            return request
        try:
            current = sha256_file(self.ws.cases / request.case_key)
        except OSError:
            current = ""
        if current == request.case_sha256:
            return request
        return self.save(replace(request, state=State.withdrawn, reason=CHANGED,
                                 decided_at=now_text()))

    def frozen(self, request: ReviewRequest) -> bytes:
        """The frozen letter, checked against the hash recorded when it was sent."""
        data = read_regular(self._path(request.id, ".pdf"))
        if sha256_bytes(data) != request.pdf_sha256:
            raise SigningError("the letter kept for review is not the one that was sent (its "
                               "SHA-256 differs); send the case for review again")
        return data

    def send(self, case_key: str, case_file: Path, practice_file: Path | None, user: str,
             today: date) -> ReviewRequest:
        """Render the final letter once, freeze its bytes, and record the request (audit:
        the user, the case file's hash, the letter's hash)."""
        from coverage.audit import chain_head, log_location, record_event

        inputs = pipeline.load_inputs(case_file, practice_file)
        kind = pipeline.choose_kind(inputs, None)
        head = chain_head(log_location(inputs.practice, inputs.practice_file))
        letter = pipeline.make_letter(inputs, today, kind,
                                      signed_lines=review_lines(inputs.physician),
                                      audit_head=head)
        data = letter.pdf
        case_hash = sha256_file(case_file)
        request = ReviewRequest(
            id=secrets.token_hex(8), case_key=case_key, case_id=inputs.case.case_id,
            kind=kind.value, physician_id=inputs.physician.id, sent_by=user,
            sent_at=now_text(), letter_date=inputs.letter_date(today).isoformat(),
            case_sha256=case_hash, pdf_sha256=sha256_bytes(data), pages=letter.pages or 1,
            signature_page=letter.signature_page, signature_box=letter.signature_box,
            findings=tuple(f"{f.code} {f.field}: {f.message}" for f in letter.review.findings))
        for earlier in self.all():
            if earlier.case_key == case_key and earlier.state is State.in_review:
                self.save(replace(earlier, state=State.withdrawn, reason=REPLACED,
                                  decided_at=now_text()))
        self.ws.state_folder(*REVIEWS)
        write_atomic(self._path(request.id, ".pdf"), data, mode=PRIVATE_MODE)
        self.save(request)
        record_event(inputs.practice, inputs.practice_file, command=f"web send-for-review "
                     f"by {user}", kind=kind.value, case_hash=case_hash,
                     output_hash=request.pdf_sha256, signer=None)
        return request

    def give_back(self, request: ReviewRequest, user: str, comment: str,
                  practice_file: Path | None) -> ReviewRequest:
        """The physician returns the letter to billing with a comment (audited)."""
        from coverage.audit import record_event
        from coverage.loading import load_practice

        if request.state is not State.in_review:
            raise SigningError(f"this request is {request.state.value}; it cannot be returned")
        returned = self.save(replace(request, state=State.returned, comment=comment.strip(),
                                     decided_by=user, decided_at=now_text()))
        practice = load_practice(practice_file) if practice_file else None
        record_event(practice, str(practice_file) if practice_file else None,
                     command=f"web return by {user}", kind=request.kind,
                     case_hash=request.case_sha256, output_hash=request.pdf_sha256,
                     signer=None)
        return returned
