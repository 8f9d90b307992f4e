"""A physician's PKCS#12 signing identity, kept encrypted in the state folder.

Uploaded once from the browser. The file is checked (password, key and certificate, validity,
the NPI where the certificate carries one) and then stored AES-256-GCM-encrypted under a key
derived with scrypt from the PKCS#12's own password, which is never stored: the server cannot
sign without the physician typing it. The certificate's SHA-256 fingerprint is pinned to the
account at the first upload; a later upload or an unlock that brings another certificate is
refused (a renewed certificate needs the old record removed by whoever runs the server).
A physician may instead choose the file at each signing (:meth:`KeyStore.for_one_signing`):
it is checked the same way, pinned at first use (the fingerprint only), and not kept.
Every refusal writes nothing.
"""

from __future__ import annotations

import base64
import json
import os
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from coverage.errors import SigningError
from coverage.files import PRIVATE_MODE, write_atomic
from coverage.signing import Identity, load_identity
from coverage.signing.times import day
from coverage.workspace import Workspace

IDENTITIES = ("identities",)  # inside the state folder
MAX_P12 = 64 * 1024  # a PKCS#12 with a key and a short chain is a few KB
SCRYPT_N, SCRYPT_R, SCRYPT_P = 2**15, 8, 1
SOURCE = "the uploaded signing identity"


@dataclass(frozen=True)
class StoredIdentity:
    physician_id: str
    fingerprint: str  # SHA-256 of the certificate (DER), hex
    common_name: str
    npi: str | None
    not_after: str
    salt: str
    nonce: str
    ciphertext: str  # empty: pinned only (the file is chosen at each signing)

    @property
    def kept(self) -> bool:
        return bool(self.ciphertext)

    @property
    def fingerprint_text(self) -> str:
        return ":".join(self.fingerprint[i:i + 2] for i in range(0, 16, 2)).upper() + "…"


def fingerprint(identity: Identity) -> str:
    return identity.certificate.fingerprint(hashes.SHA256()).hex()


def _key(password: bytes, salt: bytes) -> bytes:
    return Scrypt(salt=salt, length=32, n=SCRYPT_N, r=SCRYPT_R, p=SCRYPT_P).derive(password)


def _aad(physician_id: str, print_: str) -> bytes:
    return f"ketamine-letters identity\0{physician_id}\0{print_}".encode()


class KeyStore:
    def __init__(self, ws: Workspace) -> None:
        self.ws = ws

    def path(self, physician_id: str) -> Path:
        return self.ws.state.joinpath(*IDENTITIES, f"{physician_id}.json")

    def stored(self, physician_id: str) -> StoredIdentity | None:
        try:
            data = json.loads(self.path(physician_id).read_bytes())
            return StoredIdentity(**data)
        except FileNotFoundError:
            return None
        except (OSError, ValueError, TypeError) as exc:
            raise SigningError(f"{self.path(physician_id)}: the stored signing identity "
                               f"cannot be read ({exc}); upload it again after removing it"
                               ) from None

    def _checked(self, physician, p12: bytes, password: bytes, now: datetime
                 ) -> tuple[Identity, StoredIdentity | None]:
        """The identity in ``p12`` if it may sign for ``physician``, and the pinned record."""
        if len(p12) > MAX_P12:
            raise SigningError(f"{SOURCE} is larger than {MAX_P12 // 1024} KB: a signing "
                               "identity (.p12/.pfx) is a few KB; choose the right file")
        if not password:
            raise SigningError(f"{SOURCE}: type the password of the .p12 file")
        identity = load_identity(p12, password, source=SOURCE, now=now)
        self._check_npi(identity, physician)
        pinned = self.stored(physician.id)
        if pinned is not None and pinned.fingerprint != fingerprint(identity):
            raise SigningError(f"{SOURCE}: this is not the certificate pinned to your account "
                               f"({pinned.fingerprint_text}); a new certificate needs the old "
                               "one removed by whoever runs the server")
        return identity, pinned

    def _write(self, record: StoredIdentity) -> StoredIdentity:
        self.ws.state_folder(*IDENTITIES)
        write_atomic(self.path(record.physician_id),
                     json.dumps(asdict(record), indent=2).encode(), mode=PRIVATE_MODE)
        return record

    def upload(self, physician, p12: bytes, password: bytes, now: datetime) -> StoredIdentity:
        """Check and store ``p12`` for ``physician`` (a practice profile Physician)."""
        identity, _ = self._checked(physician, p12, password, now)
        print_ = fingerprint(identity)
        salt, nonce = os.urandom(16), os.urandom(12)
        sealed = AESGCM(_key(password, salt)).encrypt(nonce, p12, _aad(physician.id, print_))
        return self._write(StoredIdentity(
            physician.id, print_, identity.common_name, identity.npi,
            day(identity.not_after), base64.b64encode(salt).decode(),
            base64.b64encode(nonce).decode(), base64.b64encode(sealed).decode()))

    def for_one_signing(self, physician, p12: bytes, password: bytes, now: datetime
                        ) -> Identity:
        """An identity chosen at signing: checked like an upload, never stored; its
        certificate is pinned (fingerprint only) if the account has none yet."""
        identity, pinned = self._checked(physician, p12, password, now)
        if pinned is None:
            self._write(StoredIdentity(physician.id, fingerprint(identity),
                                       identity.common_name, identity.npi,
                                       day(identity.not_after), "", "", ""))
        return identity

    @staticmethod
    def _check_npi(identity: Identity, physician) -> None:
        """Certificates from real authorities carry no NPI; one that does must be this
        physician's."""
        if identity.npi is not None and identity.npi != physician.npi:
            raise SigningError(f"{SOURCE}: the certificate is for {identity.described}, not "
                               f"for NPI {physician.npi} ({physician.display_name})")

    def unlock(self, physician, password: bytes, now: datetime) -> Identity:
        """The stored identity, decrypted with its password for one signing."""
        stored = self.stored(physician.id)
        if stored is None or not stored.ciphertext:
            raise SigningError("no signing identity is stored for you: choose your .p12 file "
                               "on the signing form, or upload it on the Signing identity page")
        try:
            p12 = AESGCM(_key(password, base64.b64decode(stored.salt))).decrypt(
                base64.b64decode(stored.nonce), base64.b64decode(stored.ciphertext),
                _aad(physician.id, stored.fingerprint))
        except InvalidTag:
            raise SigningError("wrong password for your signing identity") from None
        identity = load_identity(p12, password, source="your signing identity", now=now)
        if fingerprint(identity) != stored.fingerprint:  # pragma: no cover - bound by the AAD
            raise SigningError("the stored signing identity is not the pinned certificate")
        self._check_npi(identity, physician)
        return identity
