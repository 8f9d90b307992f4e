"""The append-only, tamper-evident audit log: what was produced and signed, by hash, never by
patient name.

SQLite, one row per letter written or signed: time, command, letter kind, SHA-256 of the case
file, SHA-256 of the output, signer (physician id and NPI for signatures). Triggers refuse
UPDATE and DELETE so the tool's own use only grows it. Location: ``audit_log`` in the
practice profile, else ``KETAMINE_LETTERS_AUDIT_LOG``, else
``~/.local/state/ketamine-letters/audit.sqlite3``.

Tamper evidence: each event carries an HMAC (SHA-256) over its own fields, its id and the
previous event's MAC, keyed by the practice's audit key: 32 random bytes in ``audit.key``
beside the practice profile (or the file ``KETAMINE_LETTERS_AUDIT_KEY`` names), mode 0600,
created on first use, never in the database. Appends take SQLite's write lock before reading
the chain head (``BEGIN IMMEDIATE``), so concurrent writers (a batch's parent, another command)
extend one chain. :func:`coverage.audit_verify.verify_chain` names the first broken or missing
link. Someone who can edit the database but does not hold the key cannot change, insert or
remove an event without it showing, except the newest ones (removing the tail leaves a shorter
valid chain: a signed letter records the head it saw, see :func:`chain_head`). Someone holding
the key can rewrite everything. Events written before the chain existed have no MAC: the chain
starts at the first event that has one.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
import secrets
import sqlite3
import stat
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from coverage.errors import AuditError
from coverage.files import PRIVATE_MODE, make_private_dir
from coverage.settings import (
    AUDIT_KEY_ENV,
    AUDIT_KEY_NAME,
    AUDIT_LOG_ENV,
    relative_to_profile,
    tool_version,
)

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
_CHAIN_COLUMNS = ("key_id", "mac")  # added to logs made before the chain (ALTER TABLE)
_FIELDS = "time, command, kind, case_sha256, output_sha256, signer, tool_version"
KEY_BYTES = 32


@dataclass(frozen=True)
class Event:
    time: str
    command: str
    kind: str
    case_sha256: str
    output_sha256: str
    signer: str | None
    tool_version: str
    id: int | None = None
    key_id: str | None = None
    mac: str | None = None


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


# --------------------------------------------------------------------------- the key


def key_location(practice_file: str | Path | None) -> Path | None:
    """The audit key: ``KETAMINE_LETTERS_AUDIT_KEY``, else ``audit.key`` beside the profile."""
    if os.environ.get(AUDIT_KEY_ENV):
        return Path(os.environ[AUDIT_KEY_ENV]).expanduser()
    if practice_file:
        return Path(practice_file).parent / AUDIT_KEY_NAME
    return None


def load_key(path: Path, create: bool = True) -> bytes:
    """The practice's audit key; created (0600, random) on first use when ``create``."""
    try:
        if create and not path.exists():
            make_private_dir(path.parent)
            with contextlib.suppress(FileExistsError):  # another process made it first
                fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW,
                             PRIVATE_MODE)
                try:
                    os.fchmod(fd, PRIVATE_MODE)
                    os.write(fd, secrets.token_hex(KEY_BYTES).encode("ascii") + b"\n")
                    os.fsync(fd)
                finally:
                    os.close(fd)
        fd = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise AuditError(f"{path}: the audit key is not a regular file")
            text = os.read(fd, 4096).decode("ascii", "replace").strip()
        finally:
            os.close(fd)
    except FileNotFoundError:
        raise AuditError(f"{path}: no audit key here (it is made by the first letter written "
                         "with this practice profile); pass --practice") from None
    except OSError as exc:
        raise AuditError(f"{path}: the audit key cannot be read ({exc.strerror})") from None
    try:
        key = bytes.fromhex(text)
    except ValueError:
        key = b""
    if len(key) != KEY_BYTES:
        raise AuditError(f"{path}: is not an audit key (64 hexadecimal digits); restore it from "
                         "the practice's backup")
    return key


def key_id(key: bytes) -> str:
    """A short public name for a key: which practice's key made an event."""
    return hashlib.sha256(b"ketamine-letters audit key\0" + key).hexdigest()[:16]


def event_mac(key: bytes, event_id: int, event: Event, previous_mac: str) -> str:
    """The HMAC over one event, its id and the MAC of the event before it."""
    fields = [event_id, event.time, event.command, event.kind, event.case_sha256,
              event.output_sha256, event.signer, event.tool_version, key_id(key), previous_mac]
    message = json.dumps(fields, separators=(",", ":")).encode("utf-8")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


# --------------------------------------------------------------------------- the database


def _connect(path: Path) -> sqlite3.Connection:
    try:
        make_private_dir(path.parent)
        if not path.exists():
            fd = os.open(path, os.O_CREAT | os.O_WRONLY, PRIVATE_MODE)
            try:
                os.fchmod(fd, PRIVATE_MODE)  # 0600 whatever the umask
            finally:
                os.close(fd)
        if not path.is_file():
            raise AuditError(f"{path}: the audit log is not a regular file")
        connection = sqlite3.connect(path, timeout=30, isolation_level=None)
        try:
            connection.executescript(_SCHEMA)
            columns = {row[1] for row in connection.execute("PRAGMA table_info(events)")}
            for column in _CHAIN_COLUMNS:
                if column not in columns:
                    connection.execute(f"ALTER TABLE events ADD COLUMN {column} TEXT")
        except BaseException:
            connection.close()
            raise
        return connection
    except sqlite3.DatabaseError as exc:
        raise AuditError(f"{path}: the audit log is damaged or not an audit log ({exc}); "
                         "restore it from the backup") from None
    except (OSError, sqlite3.Error) as exc:
        raise AuditError(f"{path}: audit log cannot be opened ({exc})") from None


def check_log(path: Path) -> None:
    """Open (creating if need be) the log, or raise AuditError: before any work is done."""
    _connect(path).close()


@contextlib.contextmanager
def appending(path: Path, new_events: list[Event], key: bytes | None = None) -> Iterator[None]:
    """Append events, chained, in one transaction that commits only if the ``with`` body
    succeeds: a caller puts its files in place inside, so a log that cannot record (locked,
    damaged, full) stops the command before anything is replaced. AuditError on failure."""
    connection = _connect(path)
    try:
        try:
            connection.execute("BEGIN IMMEDIATE")  # the write lock, before reading the head
            head = connection.execute("SELECT id, mac FROM events ORDER BY id DESC LIMIT 1"
                                      ).fetchone()
            seq = connection.execute(
                "SELECT seq FROM sqlite_sequence WHERE name = 'events'").fetchone()
            next_id = max(head[0] if head else 0, seq[0] if seq else 0) + 1
            previous = (head[1] or "") if head else ""
            rows = []
            for event in new_events:
                mac = event_mac(key, next_id, event, previous) if key is not None else None
                rows.append((next_id, event.time, event.command, event.kind, event.case_sha256,
                             event.output_sha256, event.signer, event.tool_version,
                             key_id(key) if key is not None else None, mac))
                previous, next_id = mac or "", next_id + 1
            connection.executemany(
                f"INSERT INTO events (id, {_FIELDS}, key_id, mac)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)", rows)
        except sqlite3.Error as exc:
            if connection.in_transaction:
                connection.rollback()
            raise AuditError(f"{path}: could not record the event ({exc})") from None
        try:
            yield
        except BaseException:
            connection.rollback()
            raise
        try:
            connection.commit()
        except sqlite3.Error as exc:
            raise AuditError(f"{path}: could not record the event ({exc})") from None
    finally:
        connection.close()


def record(path: Path, event: Event, key: bytes | None = None) -> None:
    record_many(path, [event], key)


def record_many(path: Path, new_events: list[Event], key: bytes | None = None) -> None:
    """Append events in one transaction: all of them are recorded, or none (AuditError).

    A batch records the letters of each finished chunk together: one commit (and one disk
    sync) per chunk rather than per letter.
    """
    with appending(path, new_events, key):
        pass


def destination(practice, practice_file: str | Path | None) -> tuple[Path, bytes | None]:
    """The log a practice's events go to and the key that chains them (created on first use;
    None when there is neither a profile nor ``KETAMINE_LETTERS_AUDIT_KEY``)."""
    key_file = key_location(practice_file)
    key = load_key(key_file) if key_file is not None else None
    return log_location(practice, str(practice_file) if practice_file else None), key


def record_event(practice, practice_file: str | None, *, command: str, kind: str,
                 case_hash: str, output_hash: str, signer: str | None) -> Path:
    """Append one event for a letter written or signed; returns the log's path."""
    path, key = destination(practice, practice_file)
    record(path, new_event(command, kind, case_hash, output_hash, signer), key)
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
            f"SELECT {_FIELDS}, id, key_id, mac FROM events ORDER BY id").fetchall()
    except sqlite3.Error as exc:
        raise AuditError(f"{path}: the audit log is damaged ({exc})") from None
    finally:
        connection.close()
    return [Event(*row) for row in rows]


def chain_head(path: Path) -> str:
    """The MAC of the newest event ('' for none): what a signed letter records."""
    if not path.exists():
        return ""
    connection = _connect(path)
    try:
        row = connection.execute("SELECT mac FROM events WHERE mac IS NOT NULL"
                                 " ORDER BY id DESC LIMIT 1").fetchone()
    except sqlite3.Error as exc:
        raise AuditError(f"{path}: the audit log is damaged ({exc})") from None
    finally:
        connection.close()
    return row[0] if row else ""


def contains_output(path: Path, output_hash: str) -> list[Event]:
    return [e for e in events(path) if e.output_sha256 == output_hash]
