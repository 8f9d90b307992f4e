"""Case files written from the browser are in the audit log: who created or saved which version.

The log records outputs by hash, never their contents, so a case file's event holds the hash
of the bytes written (as both the case and the output hash), the action and the user: never
the patient. The event is inserted before the file is replaced and committed after, as the
pipeline does for letters, so a log that cannot record leaves the case file as it was.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager
from pathlib import Path

from coverage.audit import appending, destination, new_event
from coverage.errors import LetterError
from coverage.files import sha256_bytes
from coverage.workspace import Workspace

CASE_KIND = "case"  # the audit log's kind for a case file written in the browser

Logged = Callable[[Path, bytes], AbstractContextManager[None]]


def case_writes(ws: Workspace, user: str | None, action: str) -> Logged:
    """A guard for one case-file write: ``with guard(path, data): <write data to path>``."""
    from coverage.loading import load_practice
    from coverage.web.readiness import practice_file

    @contextlib.contextmanager
    def guard(path: Path, data: bytes) -> Iterator[None]:
        profile = practice_file(ws, path)
        try:
            practice = load_practice(profile) if profile else None
        except LetterError:
            practice = None  # an unreadable profile: the log the CLI would use without one
        log, key = destination(practice, profile)
        digest = sha256_bytes(data)
        command = f"web {action}" + (f" by {user}" if user else "")
        with appending(log, [new_event(command, CASE_KIND, digest, digest, None)], key):
            yield

    return guard
