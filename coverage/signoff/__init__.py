"""Physician sign-off: review requests with frozen letter bytes, the physicians' encrypted
signing identities, and signing exactly what was reviewed.

:mod:`.requests` sends a case for review (the final letter rendered once through the pipeline,
its bytes frozen and hashed) and keeps each request's state (in review, returned, withdrawn,
signed); :mod:`.keystore` keeps a physician's PKCS#12 encrypted under its own password and
pinned by fingerprint; :mod:`.signer` signs the frozen bytes, verifies the result with the
code ``ketamine-letters verify`` uses, and records it in ``signed/`` and the audit log.
Every event names the user, never the patient.
"""
