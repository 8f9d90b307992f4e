"""The append-only audit log: what was produced and signed, by hash, never by patient name.

SQLite, one row per letter written or signed: time, command, letter kind, SHA-256 of the case
file, SHA-256 of the output, signer (physician id and NPI for signatures). Triggers refuse
UPDATE and DELETE so the log only grows. Location: ``audit_log`` in the practice profile, else
``KETAMINE_LETTERS_AUDIT_LOG``, else ``~/.local/state/ketamine-letters/audit.sqlite3``.
"""

from __future__ import annotations

import os
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from coverage.errors import AuditError
from coverage.files import PRIVATE_MODE
from coverage.settings import AUDIT_LOG_ENV, relative_to_profile, tool_version

_SCHEMA = """
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    time TEXT NOT NULL,
    command TEXT NOT NULL,
    kind TEXT NOT NULL,
    case_sha256 TEXT NOT NULL,
    output_sha256 TEXT NOT NULL,
    signer TEXT,
    tool_version TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS events_output ON events (output_sha256);
CREATE TRIGGER IF NOT EXISTS events_no_update BEFORE UPDATE ON events
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER IF NOT EXISTS events_no_delete BEFORE DELETE ON events
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
"""


@dataclass(frozen=True)
class Event:
    time: str
    command: str
    kind: str
    case_sha256: str
    output_sha256: str
    signer: str | None
    tool_version: str


def default_location() -> Path:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return Path(state) / "ketamine-letters" / "audit.sqlite3"


def log_location(practice=None, practice_file: str | None = None) -> Path:
    """Where the log lives: practice profile, then environment, then a per-user default."""
    if practice is not None and practice.audit_log:
        if practice_file:
            return relative_to_profile(practice.audit_log, practice_file)
        return Path(practice.audit_log).expanduser()
    if os.environ.get(AUDIT_LOG_ENV):
        return Path(os.environ[AUDIT_LOG_ENV]).expanduser()
    return default_location()


def _connect(path: Path) -> sqlite3.Connection:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        if not path.exists():
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_MODE)
            os.close(fd)
        connection = sqlite3.connect(path, timeout=30)
        connection.executescript(_SCHEMA)
        return connection
    except (OSError, sqlite3.Error) as exc:
        raise AuditError(f"{path}: audit log cannot be opened ({exc})") from None


def check_log(path: Path) -> None:
    """Open (creating if need be) the log, or raise AuditError: before any work is done."""
    _connect(path).close()


def record(path: Path, event: Event) -> None:
    record_many(path, [event])


def record_many(path: Path, new_events: list[Event]) -> None:
    """Append events in one transaction: all of them are recorded, or none (AuditError).

    A batch records the letters of each finished chunk together: one commit (and one disk
    sync) per chunk rather than per letter.
    """
    connection = _connect(path)
    try:
        with connection:
            connection.executemany(
                "INSERT INTO events (time, command, kind, case_sha256, output_sha256, signer,"
                " tool_version) VALUES (?, ?, ?, ?, ?, ?, ?)",
                [(e.time, e.command, e.kind, e.case_sha256, e.output_sha256, e.signer,
                  e.tool_version) for e in new_events],
            )
    except sqlite3.Error as exc:
        raise AuditError(f"{path}: could not record the event ({exc})") from None
    finally:
        connection.close()


def record_event(practice, practice_file: str | None, *, command: str, kind: str,
                 case_hash: str, output_hash: str, signer: str | None) -> Path:
    """Append one event for a letter written or signed; returns the log's path."""
    path = log_location(practice, practice_file)
    record(path, new_event(command, kind, case_hash, output_hash, signer))
    return path


def new_event(command: str, kind: str, case_hash: str, output_hash: str,
              signer: str | None) -> Event:
    """An event stamped now (UTC, whole seconds) with this tool's version."""
    now = datetime.now(UTC).replace(microsecond=0).isoformat()
    return Event(now, command, kind, case_hash, output_hash, signer, tool_version())


def events(path: Path) -> list[Event]:
    if not path.exists():
        return []
    connection = _connect(path)
    try:
        rows = connection.execute(
            "SELECT time, command, kind, case_sha256, output_sha256, signer, tool_version"
            " FROM events ORDER BY id"
        ).fetchall()
    finally:
        connection.close()
    return [Event(*row) for row in rows]


def contains_output(path: Path, output_hash: str) -> list[Event]:
    return [e for e in events(path) if e.output_sha256 == output_hash]
