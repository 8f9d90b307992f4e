"""Accounts for the office workspace: who may sign in, as billing staff or as a physician.

:mod:`.store` keeps the users (argon2 hashes, roles, the physician each physician account is
tied to) in ``users.json`` in the workspace's hidden state folder; :mod:`.keystore` keeps each
physician's PKCS#12 encrypted under its own password, pinned by certificate fingerprint;
:mod:`.command` is what ``ketamine-letters users`` runs. Nothing here logs a password.
"""

from coverage.accounts.store import (
    MIN_PASSWORD,
    Role,
    User,
    UserStore,
)

__all__ = ["MIN_PASSWORD", "Role", "User", "UserStore"]
