"""Who a certificate names, read the same way when signing and when verifying.

Who signed is read from the certificate subject:

* ``CN`` is the physician's display name, ``"Given Family, Credentials"`` (``Elena Chen, MD``);
* ``serialNumber`` carries the NPI as ``NPI-1234567893`` (X.520 serialNumber is the attribute
  meant for an identifier of the subject; the ``NPI-`` prefix keeps it from being mistaken for
  some other identifier a real CA might put there);
* ``givenName`` and ``surname`` are set too, for viewers that show them.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.x509.oid import NameOID

if TYPE_CHECKING:
    from coverage.practice import Physician

NPI_PREFIX = "NPI-"


def physician_cn(physician: Physician) -> str:
    """The certificate CN for a physician: the same text the letter prints under the line."""
    return physician.display_name


def subject_info(cert: x509.Certificate) -> tuple[str, str | None]:
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


def is_self_signed(cert: x509.Certificate) -> bool:
    """True for a certificate that issued itself (a demo identity): proves no one's identity."""
    if cert.issuer != cert.subject:
        return False
    try:
        cert.verify_directly_issued_by(cert)
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True
