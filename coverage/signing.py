"""Signing letters with the physician's PKCS#12 identity, and checking signed letters.

Billing staff prepare a letter; the physician signs it. The signature is a PAdES (B-B)
signature made with pyHanko over the whole letter, in a field placed exactly over the
signature box the renderer drew. The renderer draws the visible signing text itself (pyHanko's
stamp font garbles non-Latin names), so the field gets a blank appearance.

Who signed is read from the certificate subject:

* ``CN`` is the physician's display name, ``"Given Family, Credentials"`` (``Elena Chen, MD``);
* ``serialNumber`` carries the NPI as ``NPI-1234567893`` (X.520 serialNumber is the attribute
  meant for an identifier of the subject; the ``NPI-`` prefix keeps it from being mistaken for
  some other identifier a real CA might put there);
* ``givenName`` and ``surname`` are set too, for viewers that show them.

Demo identities made by :func:`create_demo_identity` are self-signed: they prove the letter was
not changed after signing, but not who signed it. :func:`verify_pdf` says so instead of failing.

Every function takes the current time as an argument so tests can pin it; all datetimes must
be timezone-aware.
"""

from __future__ import annotations

import io
import logging
import re
import textwrap
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from asn1crypto import pkcs12 as asn1_pkcs12
from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.pdf_utils.misc import PdfError
from pyhanko.pdf_utils.reader import PdfFileReader
from pyhanko.sign import fields, signers
from pyhanko.sign.diff_analysis import ModificationLevel
from pyhanko.sign.general import SigningError as PyHankoSigningError
from pyhanko.sign.validation import validate_pdf_signature
from pyhanko.sign.validation.errors import SignatureValidationError
from pyhanko.sign.validation.status import SignatureCoverageLevel
from pyhanko.stamp import BaseStampStyle
from pyhanko_certvalidator import ValidationContext

from coverage.errors import NotAPdf, SigningError
from coverage.files import write_atomic

if TYPE_CHECKING:
    from coverage.practice import Physician

# pyHanko logs an ERROR with a traceback whenever a signer does not chain to a trusted root,
# which is the expected case for demo identities; with no handler configured Python would print
# it to stderr. Records still propagate to handlers the application sets up.
logging.getLogger("pyhanko").addHandler(logging.NullHandler())
logging.getLogger("pyhanko_certvalidator").addHandler(logging.NullHandler())

FIELD_NAME = "PhysicianSignature"
NPI_PREFIX = "NPI-"
DEMO_UNIT = "ketamine-letters demo identity (self-signed)"
SELF_SIGNED_NOTE = "self-signed; not from a trusted authority"
# RFC 9336 id-kp-documentSigning; cryptography has no constant for it.
DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")
LINE_LIMIT = 60


# --- identities ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Identity:
    """A loaded signing identity: who the certificate names, when it is valid, and the key."""

    source: str
    common_name: str
    npi: str | None
    not_before: datetime
    not_after: datetime
    self_signed: bool
    certificate: x509.Certificate = field(repr=False)
    signer: signers.SimpleSigner = field(repr=False)

    @property
    def described(self) -> str:
        """``'Elena Chen, MD' (NPI 1234567893)`` - how messages name the certificate holder."""
        npi = f"NPI {self.npi}" if self.npi else "no NPI in the certificate"
        return f"'{self.common_name}' ({npi})"


def _require_aware(when: datetime, what: str) -> datetime:
    if when.tzinfo is None or when.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware, got {when!r}")
    return when.astimezone(UTC)


def _day(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d")


def _minute(when: datetime) -> str:
    return when.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _physician_cn(physician: Physician) -> str:
    """The certificate CN for a physician: the same text the letter prints under the line."""
    return physician.display_name


def _subject_info(cert: x509.Certificate) -> tuple[str, str | None]:
    """(common name, NPI or None) from a certificate subject."""
    cns = cert.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    cn = str(cns[0].value) if cns else cert.subject.rfc4514_string()
    npi = None
    for attr in cert.subject.get_attributes_for_oid(NameOID.SERIAL_NUMBER):
        value = str(attr.value).strip()
        match = re.fullmatch(r"(?:NPI[-: ]?)?(\d{10})", value, flags=re.IGNORECASE)
        if match:
            npi = match.group(1)
            break
    return cn, npi


def _is_self_signed(cert: x509.Certificate) -> bool:
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def create_demo_identity(
    physician: Physician,
    password: bytes,
    *,
    valid_days: int = 365,
    not_before: datetime | None = None,
) -> bytes:
    """A self-signed EC P-256 test identity for ``physician``, as password-protected PKCS#12.

    For trying the signing workflow before the practice has real certificates: letters signed
    with it verify as intact but untrusted. ``not_before``/``valid_days`` let tests make
    expired or not-yet-valid identities. Write the result with :func:`save_identity`.
    """
    if not password:
        raise SigningError("a signing identity needs a non-empty password")
    if valid_days < 1:
        raise ValueError("valid_days must be at least 1")
    start = _require_aware(not_before, "not_before") if not_before else datetime.now(UTC)
    start = start.replace(microsecond=0)
    cn = _physician_cn(physician)
    subject = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, cn),
            x509.NameAttribute(NameOID.GIVEN_NAME, physician.name.given),
            x509.NameAttribute(NameOID.SURNAME, physician.name.family),
            x509.NameAttribute(NameOID.SERIAL_NUMBER, NPI_PREFIX + physician.npi),
            x509.NameAttribute(NameOID.ORGANIZATIONAL_UNIT_NAME, DEMO_UNIT),
        ]
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(start)
        .not_valid_after(start + timedelta(days=valid_days))
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=True,  # a.k.a. nonRepudiation
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION, DOCUMENT_SIGNING]),
            critical=False,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), False)
        .sign(key, hashes.SHA256())
    )
    return pkcs12.serialize_key_and_certificates(
        name=cn.encode("utf-8"),
        key=key,
        cert=cert,
        cas=None,
        encryption_algorithm=serialization.BestAvailableEncryption(password),
    )


def save_identity(path: Path, p12: bytes, *, overwrite: bool = False) -> None:
    """Write PKCS#12 bytes owner-only (0600), atomically; refuse to replace a key by accident."""
    path = Path(path)
    if path.exists() and not overwrite:
        raise SigningError(f"{path}: already exists; not replacing a signing identity")
    write_atomic(path, p12)


def _looks_like_pkcs12(data: bytes) -> bool:
    """True when ``data`` parses as a PKCS#12 structure (so a load failure means the password)."""
    try:
        pfx = asn1_pkcs12.Pfx.load(data, strict=True)
        return pfx["version"].native == "v3" and pfx["auth_safe"]["content_type"].native in (
            "data",
            "signed_data",
        )
    except (ValueError, TypeError, KeyError):
        return False


def check_validity(identity: Identity, now: datetime) -> None:
    """SigningError unless the certificate is valid at ``now``; the message gives the dates."""
    now = _require_aware(now, "now")
    span = f"valid {_day(identity.not_before)} to {_day(identity.not_after)}"
    if now > identity.not_after:
        raise SigningError(
            f"{identity.source}: certificate for {identity.described} expired on "
            f"{_day(identity.not_after)} ({span}); get a new signing identity"
        )
    if now < identity.not_before:
        raise SigningError(
            f"{identity.source}: certificate for {identity.described} is not valid until "
            f"{_day(identity.not_before)} ({span}); check the computer's clock"
        )


def load_identity(p12_bytes: bytes, password: bytes, *, source: str, now: datetime) -> Identity:
    """Open a PKCS#12 identity and check it is usable for signing at ``now``.

    ``source`` is the file name used in messages. Raises :class:`SigningError` for a wrong
    password, a file that is not PKCS#12, a file without key and certificate, or a certificate
    outside its validity period.
    """
    try:
        key, cert, _others = pkcs12.load_key_and_certificates(p12_bytes, password or None)
    except ValueError as exc:
        if _looks_like_pkcs12(p12_bytes):
            raise SigningError(f"{source}: wrong password for this signing identity") from exc
        raise SigningError(f"{source}: not a PKCS#12 (.p12/.pfx) signing identity") from exc
    if key is None or cert is None:
        raise SigningError(f"{source}: needs both a private key and its certificate")
    if key.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ) != cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    ):
        raise SigningError(f"{source}: the private key does not belong to the certificate")
    try:
        signer = signers.SimpleSigner.load_pkcs12_data(
            p12_bytes, other_certs=(), passphrase=password or None
        )
    except ValueError as exc:  # pragma: no cover - cryptography already accepted it above
        raise SigningError(f"{source}: cannot use this signing identity ({exc})") from exc
    cn, npi = _subject_info(cert)
    identity = Identity(
        source=source,
        common_name=cn,
        npi=npi,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        self_signed=_is_self_signed(cert),
        certificate=cert,
        signer=signer,
    )
    check_validity(identity, now)
    return identity


def load_identity_file(path: Path, password: bytes, *, now: datetime) -> Identity:
    """:func:`load_identity` on a file, with a SigningError when it cannot be read."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise SigningError(f"{path}: cannot read signing identity ({exc.strerror})") from exc
    return load_identity(data, password, source=str(path), now=now)


def _normalised(text: str) -> str:
    return " ".join(unicodedata.normalize("NFC", text).split()).casefold()


def check_signer_matches(identity: Identity, physician: Physician) -> None:
    """SigningError unless the certificate names the case's prescriber (name and NPI).

    Stops a letter being signed with a colleague's identity. Names compare ignoring case and
    repeated spaces; the NPI must be in the certificate and equal.
    """
    expected_cn = _physician_cn(physician)
    differs = []
    if _normalised(identity.common_name) != _normalised(expected_cn):
        differs.append("name")
    if identity.npi is None:
        differs.append("NPI missing from certificate")
    elif identity.npi != physician.npi:
        differs.append("NPI")
    if differs:
        raise SigningError(
            f"{identity.source}: certificate is for {identity.described} but the case's "
            f"prescriber is '{expected_cn}' (NPI {physician.npi}); differs: {', '.join(differs)}"
        )


def signed_lines(who: Identity | Physician, when: datetime) -> tuple[str, ...]:
    """The lines the renderer draws in the signature box of a signed letter.

    Drawn by reportlab (correct fonts); the time is the signature's own signing time in UTC,
    to the minute, so the page and the signature agree. Lines stay within ~60 characters.
    """
    when = _require_aware(when, "when")
    if isinstance(who, Identity):
        name, npi = who.common_name, who.npi
    else:
        name, npi = _physician_cn(who), who.npi
    head = f"Digitally signed by {name}"
    if len(head) <= LINE_LIMIT:
        lines = [head]
    else:  # long names get lines of their own
        lines = ["Digitally signed by", *textwrap.wrap(name, LINE_LIMIT, break_on_hyphens=False)]
    lines.append(f"NPI {npi} · {_minute(when)}" if npi else _minute(when))
    lines.append("Digital signature (PAdES): any PDF reader can check it")
    return tuple(lines)


# --- signing ------------------------------------------------------------------------------


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


def _check_pdf_header(data: bytes, source: str) -> None:
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
    when = _require_aware(when, "when").replace(microsecond=0)
    x1, y1, x2, y2 = box
    if not (x2 > x1 and y2 > y1):
        raise ValueError(f"signature box {box} has no area")
    _check_pdf_header(pdf, source)
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


# --- verification -------------------------------------------------------------------------


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
    if _is_self_signed(cert):
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
    _check_pdf_header(data, source)
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
    signer, npi = _subject_info(cert)
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
