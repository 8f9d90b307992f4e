"""The web workspace for billing staff (``ketamine-letters serve``): worklist, case form with
live review, letter drafts, over the same folder the CLI uses.

Modules: :mod:`.server` (the command: loopback and its one-time link, or office mode over
TLS; uvicorn), :mod:`.app` (the
application and the guard around every request), :mod:`.security` (token, sessions, CSRF, Host
check, headers, the log without patient data), :mod:`.routes_worklist`, :mod:`.routes_cases`
and :mod:`.routes_letters` (the pages), :mod:`.schema_form` (the form, derived from the case
schema), :mod:`.form_data` (posted values -> case data -> the round-trip file), :mod:`.store`
(case files: atomic saves with conflict detection), :mod:`.readiness` and :mod:`.worklist`
(status per case, cached against the file's hash), :mod:`.code_search`, :mod:`.view`;
with accounts: :mod:`.routes_auth` (sign-in, sign-out), :mod:`.routes_reviews` (send for
review, the physician's queue, the frozen pages, return, sign) and :mod:`.routes_identity`
(the physician's PKCS#12 upload), over :mod:`coverage.accounts` and :mod:`coverage.signoff`.

Nothing here is imported by ``ketamine-letters --help``: FastAPI loads only for ``serve``.
"""
