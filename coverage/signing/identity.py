"""PKCS#12 signing identities: creating demo ones, saving, loading, and checking them.

Demo identities made by :func:`create_demo_identity` are self-signed: they prove the letter was
not changed after signing, but not who signed it (verification says so instead of failing).
Loading checks the certificate is valid now, and :func:`check_signer_matches` that it names the
case's prescriber, so a letter is never signed with an expired key or a colleague's.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from asn1crypto import pkcs12 as asn1_pkcs12
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.serialization import pkcs12
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from pyhanko.sign import signers

from coverage.errors import SigningError
from coverage.files import write_atomic
from coverage.signing.certificate import NPI_PREFIX, is_self_signed, physician_cn, subject_info
from coverage.signing.times import day, require_aware

if TYPE_CHECKING:
    from coverage.practice import Physician

DEMO_UNIT = "ketamine-letters demo identity (self-signed)"
# RFC 9336 id-kp-documentSigning; cryptography has no constant for it.
DOCUMENT_SIGNING = x509.ObjectIdentifier("1.3.6.1.5.5.7.3.36")


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
    start = require_aware(not_before, "not_before") if not_before else datetime.now(UTC)
    start = start.replace(microsecond=0)
    cn = physician_cn(physician)
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
    """True when ``data`` starts like a PKCS#12 structure (version 3, a content)."""
    try:
        pfx = asn1_pkcs12.Pfx.load(data, strict=True)
        return pfx["version"].native == "v3" and pfx["auth_safe"]["content_type"].native in (
            "data",
            "signed_data",
        )
    except (ValueError, TypeError, KeyError):
        return False


def _truncated_der(data: bytes) -> bool:
    """A DER SEQUENCE (as PKCS#12 starts) whose stated length runs past the end of the file."""
    if len(data) < 4 or data[0] != 0x30 or data[1] < 0x81 or data[1] > 0x84:
        return False
    width = data[1] - 0x80
    length = int.from_bytes(data[2:2 + width], "big")
    return 2 + width + length > len(data) and length > 64


def _intact_pkcs12(data: bytes) -> bool:
    """True when every part of the PKCS#12 structure parses (the encrypted parts stay opaque),
    so a load failure is the password or damage inside an encrypted part."""
    try:
        pfx = asn1_pkcs12.Pfx.load(data, strict=True)
        pfx.native  # noqa: B018  (parses every level)
        return True
    except Exception:  # asn1crypto raises many kinds on damaged DER
        return False


def check_validity(identity: Identity, now: datetime) -> None:
    """SigningError unless the certificate is valid at ``now``; the message gives the dates."""
    now = require_aware(now, "now")
    span = f"valid {day(identity.not_before)} to {day(identity.not_after)}"
    if now > identity.not_after:
        raise SigningError(
            f"{identity.source}: certificate for {identity.described} expired on "
            f"{day(identity.not_after)} ({span}); get a new signing identity"
        )
    if now < identity.not_before:
        raise SigningError(
            f"{identity.source}: certificate for {identity.described} is not valid until "
            f"{day(identity.not_before)} ({span}); check the computer's clock"
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
        if _truncated_der(p12_bytes):
            raise SigningError(f"{source}: the signing identity file is cut short (damaged); "
                               "restore it from its backup") from exc
        if not _looks_like_pkcs12(p12_bytes):
            raise SigningError(f"{source}: not a PKCS#12 (.p12/.pfx) signing identity") from exc
        if not _intact_pkcs12(p12_bytes):
            raise SigningError(f"{source}: the signing identity file is damaged; restore it "
                               "from its backup") from exc
        raise SigningError(f"{source}: wrong password for this signing identity (or the file "
                           "is damaged inside its encrypted part: if the password is right, "
                           "restore it from its backup)") from exc
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
    cn, npi = subject_info(cert)
    identity = Identity(
        source=source,
        common_name=cn,
        npi=npi,
        not_before=cert.not_valid_before_utc,
        not_after=cert.not_valid_after_utc,
        self_signed=is_self_signed(cert),
        certificate=cert,
        signer=signer,
    )
    check_validity(identity, now)
    return identity


def load_identity_file(path: Path, password: bytes, *, now: datetime) -> Identity:
    """:func:`load_identity` on a file, with a SigningError when it cannot be read."""
    path = Path(path)
    from coverage.files import read_regular

    try:
        data = read_regular(path, limit=1_000_000)
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
    expected_cn = physician_cn(physician)
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
