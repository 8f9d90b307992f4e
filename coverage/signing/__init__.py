"""Signing letters with the physician's PKCS#12 identity, and checking signed letters.

Billing staff prepare a letter; the physician signs it (PAdES, with pyHanko) and anyone can
verify it. :mod:`.identity` loads and checks identities, :mod:`.sign` signs, :mod:`.verify`
reports on a signed letter, :mod:`.certificate` reads who a certificate names. The names below
are this package's interface; import them from here.
"""

import logging

from coverage.signing.certificate import NPI_PREFIX
from coverage.signing.identity import (
    DEMO_UNIT,
    DOCUMENT_SIGNING,
    Identity,
    check_signer_matches,
    check_validity,
    create_demo_identity,
    load_identity,
    load_identity_file,
    save_identity,
)
from coverage.signing.sign import FIELD_NAME, LINE_LIMIT, sign_pdf, signed_lines
from coverage.signing.verify import SELF_SIGNED_NOTE, Verification, verify_pdf

# pyHanko logs an ERROR with a traceback whenever a signer does not chain to a trusted root,
# which is the expected case for demo identities; with no handler configured Python would print
# it to stderr. Records still propagate to handlers the application sets up.
logging.getLogger("pyhanko").addHandler(logging.NullHandler())
logging.getLogger("pyhanko_certvalidator").addHandler(logging.NullHandler())

__all__ = [
    "DEMO_UNIT",
    "DOCUMENT_SIGNING",
    "FIELD_NAME",
    "LINE_LIMIT",
    "NPI_PREFIX",
    "SELF_SIGNED_NOTE",
    "Identity",
    "Verification",
    "check_signer_matches",
    "check_validity",
    "create_demo_identity",
    "load_identity",
    "load_identity_file",
    "save_identity",
    "sign_pdf",
    "signed_lines",
    "verify_pdf",
]
