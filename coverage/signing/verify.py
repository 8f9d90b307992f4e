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
from pyhanko.sign.validation.errors import SignatureValidationError
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

    @property
    def ok(self) -> bool:
        return self.signed and self.intact and not self.modified_after_signing

    def lines(self) -> list[str]:
        """A short report, first line the verdict."""
        if not self.signed:
            return [f"{self.source}: NOT SIGNED", *(f"  {p}" for p in self.problems)]
        if self.ok:
            verdict = "signature OK: intact and unchanged since signing"
        elif not self.intact:
            verdict = "SIGNATURE BROKEN: the file was changed after it was signed"
        else:
            verdict = "MODIFIED AFTER SIGNING: content was added after the signature"
        out = [f"{self.source}: {verdict}"]
        who = self.signer or "unknown signer"
        out.append(f"  signed by: {who}" + (f" (NPI {self.npi})" if self.npi else ""))
        if self.signing_time is not None:
            out.append(f"  signed at: {self.signing_time.astimezone(UTC):%Y-%m-%d %H:%M:%S} UTC")
        out.append(f"  trust: {self.trust_note}")
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
        signatures = reader.embedded_regular_signatures
    except (PdfError, ValueError, KeyError, TypeError) as exc:
        raise NotAPdf(f"{source}: not a readable PDF ({exc})") from exc
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

    cert = x509.load_der_x509_certificate(chosen.signer_cert.dump())
    signer, npi = subject_info(cert)
    try:
        roots = _load_certs(trust_roots)
    except ValueError as exc:
        raise SigningError(f"trust roots: not a certificate ({exc})") from exc
    context = ValidationContext(trust_roots=roots, allow_fetching=False)
    try:
        status = validate_pdf_signature(chosen, signer_validation_context=context)
    except (SignatureValidationError, PdfError, ValueError) as exc:
        return Verification(
            source=source,
            signed=True,
            signer=signer,
            npi=npi,
            signing_time=chosen.self_reported_timestamp,
            field_name=chosen.field_name,
            trust_note="not evaluated",
            problems=(*problems, f"the signature cannot be checked: {exc}"),
        )

    intact = bool(status.intact and status.valid)
    if not status.intact:
        problems.append("the signed bytes do not match the signature (content was altered)")
    elif not status.valid:
        problems.append("the signature value does not match the certificate's key")

    whole = status.coverage == SignatureCoverageLevel.ENTIRE_FILE
    level = status.modification_level
    unchanged = whole or (
        status.coverage == SignatureCoverageLevel.ENTIRE_REVISION
        and level is not None
        and level <= ModificationLevel.LTA_UPDATES
        and status.docmdp_ok is not False
    )
    if not unchanged:
        if status.coverage not in (
            SignatureCoverageLevel.ENTIRE_FILE,
            SignatureCoverageLevel.ENTIRE_REVISION,
        ):
            problems.append("the signature does not cover a complete revision of the file")
        else:
            what = level.name.lower().replace("_", " ") if level is not None else "unknown"
            problems.append(f"updates were appended after signing (change level: {what})")

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
        trusted=bool(status.trusted),
        trust_note=_trust_note(status, cert),
        field_name=chosen.field_name,
        problems=tuple(problems),
    )
