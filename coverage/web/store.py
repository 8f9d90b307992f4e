"""The case files of a workspace, as the web page reads and writes them.

The folder is the storage: the CLI, the batch and this page work on the same files at the same
time. A case is named on the page by its path inside ``cases/`` (only paths found by the scan
are accepted, so a crafted name cannot reach outside the folder). Every save is atomic and
checks that the file is still the one the form was opened from (its SHA-256 travels in the
form); when it is not, nothing is written over it and the caller shows both versions. A copy of
the version that could not be saved is kept in the state folder, so nothing typed is lost.
"""

from __future__ import annotations

import hashlib
import os
import re
import threading
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from coverage.errors import InputError, OutputError
from coverage.files import PRIVATE_MODE, write_atomic
from coverage.settings import CASE_SUFFIXES, PRACTICE_NAMES
from coverage.starter import STARTER_CONDITIONS, starter_case
from coverage.workspace import Workspace
from coverage.yaml_files import dump_roundtrip, load_roundtrip, write_case_file

if TYPE_CHECKING:
    from coverage.web.case_audit import Logged

NEW_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
CONFLICTS = ("web", "unsaved")  # inside the state folder
_SAVE_LOCK = threading.Lock()  # one save at a time within this server


@dataclass(frozen=True)
class CaseFile:
    key: str  # relative POSIX path inside cases/
    path: Path


@dataclass(frozen=True)
class Opened:
    """A case file's text and the hash the form carries."""

    case: CaseFile
    text: str
    digest: str


class Conflict(Exception):
    """The file changed on disk since the form was opened."""

    def __init__(self, current: Opened, mine: str, kept: Path) -> None:
        super().__init__(f"{current.case.key} changed since it was opened")
        self.current, self.mine, self.kept = current, mine, kept


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def case_files(ws: Workspace) -> list[CaseFile]:
    """Every case file under ``cases/``, by the batch's rules (``batch.discover``: no hidden
    files or folders, no practice profile, case suffixes only; and here no symbolic links, so
    that nothing the page edits lies outside the folder), sorted by key; a directory scan
    without resolving each path, since the worklist lists the folder on every visit."""
    found: list[CaseFile] = []

    def scan(folder: Path, prefix: str) -> None:
        try:
            entries = sorted(os.scandir(folder), key=lambda e: e.name)
        except OSError:
            return
        for entry in entries:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                scan(Path(entry.path), f"{prefix}{entry.name}/")
            elif (Path(entry.name).suffix.lower() in CASE_SUFFIXES
                  and entry.name.lower() not in PRACTICE_NAMES
                  and entry.is_file(follow_symlinks=False)):  # as find() accepts them
                found.append(CaseFile(prefix + entry.name, Path(entry.path)))

    scan(ws.cases, "")
    return sorted(found, key=lambda c: c.key)


def find(ws: Workspace, key: str) -> CaseFile | None:
    """The case file a page names, if it is one the scan of ``cases/`` would list (a case
    suffix, no hidden or practice file, no way out of the folder); no scan per request."""
    parts = key.split("/")
    if (not key or key.startswith("/") or any(p in ("", ".", "..") or p.startswith(".")
                                              for p in parts)
            or Path(key).suffix.lower() not in CASE_SUFFIXES
            or parts[-1].lower() in PRACTICE_NAMES):
        return None
    path = ws.cases / key
    try:
        inside = path.resolve().is_relative_to(ws.cases.resolve())
    except OSError:
        return None
    if not inside or path.is_symlink() or not path.is_file():
        return None
    return CaseFile(key, path)


def open_case(case: CaseFile) -> Opened:
    data = case.path.read_bytes()
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise InputError.one(str(case.path), "", "is not UTF-8 text (save it as UTF-8)") from None
    return Opened(case, text, digest(data))


def save_case(case: CaseFile, expected: str, edit: Any, logged: Logged | None = None) -> Opened:
    """Apply ``edit(mapping)`` to the file and write it, if it is still at ``expected``.

    Raises :class:`Conflict` (with the version on disk and the one not saved) otherwise.
    ``logged`` (see :mod:`.case_audit`) records the write in the audit log before the file
    is replaced.
    """
    with _SAVE_LOCK:
        current = open_case(case)
        doc = load_roundtrip(current.text, str(case.path))
        if current.digest != expected:
            mine = dump_roundtrip(edit(doc), str(case.path))
            raise Conflict(current, mine, keep_unsaved(case, mine))
        _write_case(case.path, edit(doc), logged)
        return open_case(case)


def _write_case(path: Path, doc: Any, logged: Logged | None) -> None:
    """Write a case file (0600, atomically), inside the audit guard when there is one."""
    if logged is None:
        write_case_file(path, doc)
        return
    data = dump_roundtrip(doc, str(path)).encode("utf-8")
    with logged(path, data):
        write_atomic(path, data, mode=PRIVATE_MODE)


def keep_unsaved(case: CaseFile, text: str) -> Path:
    """A copy of an edit that could not be saved, in the state folder (owner only)."""
    ws = Workspace(case.path.parents[len(Path(case.key).parts)])
    folder = ws.state_folder(*CONFLICTS)
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    target = folder / f"{Path(case.key).stem}-{stamp}.yaml"
    write_atomic(target, text.encode("utf-8"), mode=PRIVATE_MODE)
    return target


def create_case(ws: Workspace, condition: str, name: str,
                logged: Logged | None = None) -> CaseFile:
    """A starter case file for a condition (as ``new`` writes it), its case_id filled in."""
    if condition not in STARTER_CONDITIONS:
        raise InputError.one("new case", "condition",
                             f"must be one of: {', '.join(STARTER_CONDITIONS)}")
    name = name.strip()
    if not NEW_NAME.match(name):
        raise InputError.one("new case", "case_id", "letters, digits and . _ - only (no "
                             "spaces), e.g. RPC-2026-0412")
    path = ws.cases / f"{name}.yaml"
    if path.exists():
        raise OutputError(f"cases/{path.name} already exists; choose another case id")
    doc = load_roundtrip(starter_case(condition), path.name)
    doc["case_id"] = name
    _write_case(path, doc, logged)
    return CaseFile(path.name, path)
