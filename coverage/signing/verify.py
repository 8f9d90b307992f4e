"""Verifying a signed letter, reported in terms billing staff can act on.

Intact (the signed bytes are what was signed), unchanged (nothing that alters the letter was
appended after signing) and trusted (the signer chains to a root the practice trusts) are
reported separately: a letter signed with a demo identity is intact but not trusted, and
:func:`verify_pdf` says so instead of failing. Nothing is fetched from the network.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko_certvalidator import ValidationContext

from coverage.errors import NotAPdf, SigningError
from coverage.signing.certificate import is_self_signed, subject_info
from coverage.signing.sign import FIELD_NAME, check_pdf_header

SELF_SIGNED_NOTE = "self-signed; not from a trusted authority"


@dataclass(frozen=True)
class Verification:
    """What a signed letter's signature says, in terms billing staff can act on.

    ``ok`` means the signed bytes are exactly what was signed and nothing that changes the
    letter was added afterwards. Trust is reported separately: a letter signed with a demo
    (self-signed) identity is ``ok`` but not ``trusted``.
    """

    source: str
    signed: bool
    signer: str | None = None
    npi: str | None = None
    signing_time: datetime | None = None
    intact: bool = False
    covers_whole_file: bool = False
    modified_after_signing: bool = False
    trusted: bool = False
    trust_note: str = ""
    field_name: str | None = None
    problems: tuple[str, ...] = ()
    encrypted: bool = False
    allowed_updates: tuple[str, ...] = ()  # updates PAdES allows after signing, named

    @property
    def ok(self) -> bool:
        return self.signed and self.intact and not self.modified_after_signing

    def lines(self) -> list[str]:
        """A short report, first line the verdict."""
        if self.encrypted:
            return [f"{self.source}: ENCRYPTED PDF: its signature cannot be checked without its "
                    "password (letters from this tool are never encrypted)"]
        if not self.signed:
            return [f"{self.source}: NOT SIGNED", *(f"  {p}" for p in self.problems)]
        if self.ok:
            verdict = "signature OK: intact and unchanged since signing"
        elif not self.intact:
            verdict = "SIGNATURE BROKEN: the file was changed after it was signed"
        else:
            verdict = "CHANGED AFTER SIGNING: the file holds more than what was signed"
        out = [f"{self.source}: {verdict}"]
        who = self.signer or "unknown signer"
        out.append(f"  signed by: {who}" + (f" (NPI {self.npi})" if self.npi else ""))
        if self.signing_time is not None:
            out.append(f"  signed at: {self.signing_time.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC")
        out.append(f"  trust: {self.trust_note}")
        out.extend(f"  allowed after signing: {u}" for u in self.allowed_updates)
        out.extend(f"  {p}" for p in self.problems)
        return out


def _load_certs(blobs: Sequence[bytes]) -> list[asn1_x509.Certificate]:
    certs = []
    for blob in blobs:
        if b"-----BEGIN" in blob:
            certs.extend(x509.load_pem_x509_certificates(blob))
        else:
            certs.append(x509.load_der_x509_certificate(blob))
    return [asn1_x509.Certificate.load(c.public_bytes(serialization.Encoding.DER)) for c in certs]


def _trust_note(status, cert: x509.Certificate) -> str:
    if status.trusted:
        anchor = status.validation_path[0] if status.validation_path else None
        subject = anchor.subject.native if anchor is not None else {}
        return f"trusted (issued under '{subject.get('common_name', 'a trusted root')}')"
    if status.revoked:
        return "certificate revoked"
    if is_self_signed(cert):
        return SELF_SIGNED_NOTE
    issuer = cert.issuer.get_attributes_for_oid(NameOID.COMMON_NAME)
    issuer_name = str(issuer[0].value) if issuer else cert.issuer.rfc4514_string()
    indication = status.trust_problem_indic
    why = f" ({indication.name.lower().replace('_', ' ')})" if indication is not None else ""
    return f"issued by '{issuer_name}', not a trusted authority here{why}"


def verify_pdf(data: bytes, source: str, *, trust_roots: Sequence[bytes] = ()) -> Verification:
    """Check the physician signature of a letter.

    Raises :class:`NotAPdf` for data that is not a readable PDF. A PDF without a signature
    returns ``Verification(signed=False)`` (``ok`` False) rather than raising, so the CLI can
    print one report format for every letter. ``trust_roots`` (DER or PEM certificates) are
    the only authorities trusted; with none, every signer is reported as untrusted, and a
    self-signed demo identity as "self-signed; not from a trusted authority". Nothing is
    fetched from the network.
    """
    check_pdf_header(data, source)
    try:
        reader = PdfFileReader(io.BytesIO(data))
        if reader.encrypted:
            return Verification(source=source, signed=False, encrypted=True,
                                trust_note="not evaluated")
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise NotAPdf(f"{source}: not a readable PDF ({exc})") from exc
    try:
        signatures = reader.embedded_regular_signatures
    except Exception as exc:  # the PDF reads, its signature does not: a damaged signature
        if b"/ByteRange" not in data:
            raise NotAPdf(f"{source}: not a readable PDF ({exc})") from exc
        reason = str(exc).split(" [")[0][:160] or type(exc).__name__
        return Verification(source=source, signed=True, trust_note="not evaluated",
                            problems=(f"the signature is damaged and cannot be checked "
                                      f"({reason})",))
    if not signatures:
        return Verification(
            source=source,
            signed=False,
            trust_note="no signature",
            problems=("this PDF has no digital signature",),
        )
    chosen = next((s for s in signatures if s.field_name == FIELD_NAME), signatures[0])
    problems = []
    if len(signatures) > 1:
        problems.append(f"{len(signatures) - 1} other signature(s) in the file were not checked")

    try:
        roots = _load_certs(trust_roots)
    except ValueError as exc:
        raise SigningError(f"trust roots: not a certificate ({exc})") from exc
    signer = npi = None
    try:  # a damaged signature is a broken signature, whatever part of it is damaged
        cert = x509.load_der_x509_certificate(chosen.signer_cert.dump())
        signer, npi = subject_info(cert)
        context = ValidationContext(trust_roots=roots, allow_fetching=False)
        status = validate_pdf_signature(chosen, signer_validation_context=context)
    except Exception as exc:  # pyHanko, asn1crypto and cryptography raise many kinds here
        reason = str(exc).split(" [")[0].split(" for subject")[0][:160] or type(exc).__name__
        return Verification(
            source=source,
            signed=True,
            signer=signer,
            npi=npi,
            signing_time=_reported_time(chosen),
            field_name=chosen.field_name,
            trust_note="not evaluated",
            problems=(*problems, f"the signature is damaged and cannot be checked ({reason})"),
        )

    intact = bool(status.intact and status.valid)
    if not status.intact:
        problems.append("the signed bytes do not match the signature (content was altered)")
    elif not status.valid:
        problems.append("the signature value does not match the certificate's key")

    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    changes, allowed = after_signing(data, reader, chosen, status, len(signatures))
    problems.extend(changes)
    unchanged = not changes

    signing_time = status.signer_reported_dt or chosen.self_reported_timestamp
    return Verification(
        source=source,
        signed=True,
        signer=signer,
        npi=npi,
        signing_time=signing_time,
        intact=intact,
        covers_whole_file=whole,
        modified_after_signing=not unchanged,
        allowed_updates=allowed,
        trusted=bool(status.trusted),
        trust_note=_trust_note(status, cert),
        field_name=chosen.field_name,
        problems=tuple(problems),
    )


def _reported_time(signature) -> datetime | None:
    try:
        return signature.self_reported_timestamp
    except Exception:  # a damaged signature may not even say when
        return None


def after_signing(data: bytes, reader, chosen, status, signature_count: int
                  ) -> tuple[list[str], tuple[str, ...]]:
    """What the file holds beyond the signed revision: (changes, allowed updates named).

    Any byte after the signed revision that is not white space counts, not only what
    pyHanko's difference analysis sees: bytes appended without a PDF update, and an update
    that changes the document properties (/Info, which the analysis ignores), are changes.
    Updates PAdES allows (a document security store or timestamp for long-term validation,
    further signatures) are named and are not changes.
    """
    changes: list[str] = []
    if status.coverage not in (SignatureCoverageLevel.ENTIRE_FILE,
                               SignatureCoverageLevel.ENTIRE_REVISION):
        return ["the signature does not cover a complete revision of the file"], ()
    byte_range = list(chosen.sig_object["/ByteRange"])
    signed_end = int(byte_range[2]) + int(byte_range[3])
    tail = data[signed_end:]
    if not tail.strip():
        return [], ()
    later = reader.xrefs.total_revisions - 1 - chosen.signed_revision
    last_eof = data.rfind(b"%%EOF")
    if later <= 0 or data[last_eof + 5:].strip():
        changes.append("bytes were appended after the signed revision")
    if later <= 0:
        return changes, ()
    if _info(reader, chosen.signed_revision) != _info(reader, None):
        changes.append("the document properties (title, author...) were changed after signing")
    level = status.modification_level
    if level is None or status.docmdp_ok is False or level > ModificationLevel.FORM_FILLING:
        what = level.name.lower().replace("_", " ") if level is not None else "unknown"
        changes.append(f"an update changed the document after signing (change level: {what})")
        return changes, ()
    further = signature_count - 1 + len(_timestamps(reader))
    if level is ModificationLevel.FORM_FILLING and further == 0:
        changes.append("form fields were filled in after signing")
    allowed = []
    if further:
        allowed.append(f"{further} further signature(s) or document timestamp(s)")
    if _has_dss(reader):
        allowed.append("long-term validation data (document security store)")
    return changes, tuple(allowed)


def _info(reader, revision: int | None) -> dict:
    """The document properties at a revision (None: the latest), as comparable text."""
    try:
        trailer = (reader.trailer_view if revision is None
                   else reader.get_historical_resolver(revision).trailer_view)
        if "/Info" not in trailer:
            return {}
        info = trailer["/Info"]
        return {str(key): str(info[key]) for key in info}
    except Exception:  # unreadable properties differ from readable ones
        return {"unreadable": str(revision)}


def _timestamps(reader) -> list:
    try:
        return list(reader.embedded_timestamp_signatures)
    except Exception:
        return []


def _has_dss(reader) -> bool:
    try:
        return "/DSS" in reader.root
    except Exception:
        return False


def recorded_audit_head(data: bytes) -> str | None:
    """The audit chain head a signed letter recorded in its keywords (None: none, or not a
    PDF this tool signed)."""
    import re

    try:
        reader = PdfFileReader(io.BytesIO(data))
        keywords = str(reader.trailer_view["/Info"]["/Keywords"])
    except Exception:  # not a PDF, no properties, no keywords
        return None
    found = re.search(r"audit chain head: ([0-9a-f]{32})", keywords)
    return found[1] if found else None
