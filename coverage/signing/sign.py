"""Signing a letter: the lines printed in its signature box, and the PAdES signature itself.

The signature is a PAdES (B-B) signature made with pyHanko over the whole letter, in a field
placed exactly over the signature box the renderer drew. The renderer draws the visible
signing text itself (:func:`signed_lines`; pyHanko's stamp font garbles non-Latin names), so
the field gets a blank appearance.
"""

from __future__ import annotations

import io
import textwrap
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.sign import fields, signers
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.stamp import BaseStampStyle

from coverage.errors import NotAPdf, SigningError
from coverage.signing.certificate import physician_cn
from coverage.signing.identity import Identity, check_validity
from coverage.signing.times import minute, require_aware

if TYPE_CHECKING:
    from coverage.practice import Physician

FIELD_NAME = "PhysicianSignature"
LINE_LIMIT = 60


def signed_lines(who: Identity | Physician, when: datetime) -> tuple[str, ...]:
    """The lines the renderer draws in the signature box of a signed letter.

    Drawn by reportlab (correct fonts); the time is the signature's own signing time in UTC,
    to the minute, so the page and the signature agree. Lines stay within ~60 characters.
    """
    when = require_aware(when, "when")
    if isinstance(who, Identity):
        name, npi = who.common_name, who.npi
    else:
        name, npi = physician_cn(who), who.npi
    head = f"Digitally signed by {name}"
    if len(head) <= LINE_LIMIT:
        lines = [head]
    else:  # long names get lines of their own
        lines = ["Digitally signed by", *textwrap.wrap(name, LINE_LIMIT, break_on_hyphens=False)]
    lines.append(f"NPI {npi} · {minute(when)}" if npi else minute(when))
    lines.append("Digital signature (PAdES): any PDF reader can check it")
    return tuple(lines)


@dataclass(frozen=True)
class _NoStamp(BaseStampStyle):
    """A stamp style that draws nothing: the field keeps the blank appearance it was made with."""

    def create_stamp(self, writer, box, text_params):
        return None


class _FixedTimePdfSigner(signers.PdfSigner):
    """A PdfSigner whose signing time is given, not read from the clock.

    pyHanko 0.38 takes the signing time from ``PdfSigningSession.system_time`` (set to "now" in
    the session constructor, not settable through ``sign_pdf``); it feeds both the CMS
    signingTime attribute and the signature dictionary's ``/M``.
    """

    def __init__(self, *args, when: datetime, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self._when = when

    def init_signing_session(self, pdf_out, existing_fields_only=False):
        session = super().init_signing_session(pdf_out, existing_fields_only=existing_fields_only)
        session.system_time = self._when
        return session


def check_pdf_header(data: bytes, source: str) -> None:
    """NotAPdf for data without a ``%PDF-`` header, before pyHanko gives a cryptic error."""
    if b"%PDF-" not in data[:1024]:
        raise NotAPdf(f"{source}: not a PDF file (no %PDF- header)")


def sign_pdf(
    pdf: bytes,
    identity: Identity,
    *,
    page: int,
    box: tuple[float, float, float, float],
    when: datetime,
    reason: str,
    location: str | None = None,
    field_name: str = FIELD_NAME,
    source: str = "letter",
) -> bytes:
    """Sign ``pdf`` with ``identity`` in a new signature field at ``box`` on ``page``.

    PAdES B-B, SHA-256, appended as an incremental update so the unsigned letter's bytes stay
    as they were. ``when`` becomes the signature's signing time, so it must be the same time
    :func:`signed_lines` printed on the page. ``box`` is ``(x1, y1, x2, y2)`` in PDF points
    as reported by the renderer. Refuses an already signed PDF and an identity that is not
    valid at ``when``.
    """
    when = require_aware(when, "when").replace(microsecond=0)
    x1, y1, x2, y2 = box
    if not (x2 > x1 and y2 > y1):
        raise ValueError(f"signature box {box} has no area")
    check_pdf_header(pdf, source)
    check_validity(identity, when)
    try:
        writer = IncrementalPdfFileWriter(io.BytesIO(pdf))
    except (PdfError, ValueError) as exc:
        raise NotAPdf(f"{source}: not a readable PDF ({exc})") from exc
    page_count = int(writer.root["/Pages"]["/Count"])
    if not 0 <= page < page_count:
        raise ValueError(f"page {page} is outside the letter (pages 0..{page_count - 1})")
    if writer.prev.embedded_signatures:
        raise SigningError(f"{source}: already signed; sign the unsigned letter instead")
    meta = signers.PdfSignatureMetadata(
        field_name=field_name,
        md_algorithm="sha256",
        subfilter=fields.SigSeedSubFilter.PADES,
        reason=reason,
        location=location,
    )
    spec = fields.SigFieldSpec(
        sig_field_name=field_name,
        on_page=page,
        box=(x1, y1, x2, y2),
        readable_field_name="Physician signature",
    )
    # The field is made first so it gets pyHanko's blank appearance stream (a widget needs
    # one); letting PdfSigner create it would leave the widget with no /AP at all, because
    # the stamp style below deliberately draws nothing.
    pdf_signer = _FixedTimePdfSigner(meta, identity.signer, stamp_style=_NoStamp(), when=when)
    try:
        fields.append_signature_field(writer, spec)
        out = pdf_signer.sign_pdf(writer, existing_fields_only=True, output=io.BytesIO())
    except (PyHankoSigningError, PdfError) as exc:
        raise SigningError(f"{source}: could not sign ({exc})") from exc
    return out.getvalue()
