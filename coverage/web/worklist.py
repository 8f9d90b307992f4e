"""The worklist: every case in the folder, its status, and for appeals the days left to file.

Each case's readiness is cached against the SHA-256 of its file (and the day, and the practice
profile's version), so a folder of a thousand cases is listed by hashing files, not by
reviewing them again; a file changed by the CLI or an editor is reviewed afresh. Whether a
letter was drafted or signed is read from the folders (``letters/``, ``signed/``): a letter
older than its case file no longer counts.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass
from datetime import date
from pathlib import Path

from coverage.errors import InputError
from coverage.web.readiness import Notice, Readiness, Status, assess, practice_file
from coverage.web.store import CaseFile, case_files, digest
from coverage.workspace import Workspace
from coverage.yaml_files import load_yaml

URGENCY = {Status.needs_information: 0, Status.blocked: 1, Status.ready: 2, Status.drafted: 3,
           Status.signed: 4}
NO_DEADLINE = 10**6
SOON_DAYS = 14  # an appeal due within two weeks is shown in amber


@dataclass(frozen=True)
class Row:
    case: CaseFile
    readiness: Readiness
    status: Status
    days_left: int | None

    @property
    def key(self) -> tuple[int, int, int, str]:
        """Most urgent first: open cases before finished ones, then the nearest deadline."""
        done = self.status in (Status.drafted, Status.signed)
        days = NO_DEADLINE if self.days_left is None else self.days_left
        return (int(done), days, URGENCY[self.status], self.case.key)

    @property
    def kind_label(self) -> str:
        kind = self.readiness.kind
        return {"lmn": "Medical necessity", "appeal": "Appeal",
                "retro_authorization": "Retro authorization"}[kind.value] if kind else ""

    @property
    def days_text(self) -> str:
        if self.days_left is None:
            return ""
        return str(self.days_left) if self.days_left >= 0 else f"{-self.days_left} past"

    @property
    def days_class(self) -> str:
        if self.days_left is None:
            return ""
        return "late" if self.days_left < 0 else "soon" if self.days_left <= SOON_DAYS else ""

    def matches(self, query: str) -> bool:
        query = query.strip().lower()
        if not query:
            return True
        fields = (self.readiness.case_id, self.readiness.member_id, self.case.key)
        return any(query in (f or "").lower() for f in fields)


def letter_paths(ws: Workspace, case_id: str, kind: str) -> dict[str, Path]:
    """Where the page puts a case's draft letters (``letters/<case_id>-<kind>.pdf|.docx``), as
    the batch names them, and where a signed letter is found (the listing below reads the
    same names)."""
    stem = f"{case_id}-{kind}"
    return {"pdf": ws.letters / f"{stem}.pdf", "docx": ws.letters / f"{stem}.docx",
            "signed": ws.signed / f"{stem}.pdf"}


def _modified(folder: Path) -> dict[str, int]:
    """File name -> modification time (ns) for a folder's files; empty when there is none."""
    try:
        with os.scandir(folder) as entries:
            return {e.name: e.stat().st_mtime_ns for e in entries if e.is_file()}
    except OSError:
        return {}


class Worklist:
    """Readiness per case file, cached against the file's hash."""

    def __init__(self, ws: Workspace) -> None:
        self.ws = ws
        self._cache: dict[str, tuple[tuple[str, date, int], Readiness]] = {}
        self._lock = threading.Lock()

    def readiness(self, case: CaseFile, data: bytes, today: date,
                  profiles: dict[str, tuple[Path | None, int]] | None = None) -> Readiness:
        """``profiles``: the practice profile per sub-folder, found once per listing."""
        profiles = {} if profiles is None else profiles
        folder = case.key.rpartition("/")[0]
        if folder not in profiles:
            found = practice_file(self.ws, case.path)
            profiles[folder] = (found, found.stat().st_mtime_ns if found else 0)
        profile, profile_ns = profiles[folder]
        key = (digest(data), today, profile_ns)
        with self._lock:
            cached = self._cache.get(case.key)
        if cached and cached[0] == key:
            return cached[1]
        try:
            parsed = load_yaml(data.decode("utf-8"), str(case.path))
            result = assess(parsed, str(case.path), profile, today)
        except InputError as exc:
            result = Readiness(Status.needs_information,
                               tuple(Notice("BLOCKING", "INPUT", p.field, p.message)
                                     for p in exc.problems))
        except UnicodeDecodeError:
            result = Readiness(Status.needs_information, (Notice(
                "BLOCKING", "INPUT", "", "is not UTF-8 text (save it as UTF-8)"),))
        with self._lock:
            self._cache[case.key] = (key, result)
        return result

    def row(self, case: CaseFile, today: date,
            profiles: dict[str, tuple[Path | None, int]] | None = None,
            outputs: tuple[dict[str, int], dict[str, int]] | None = None) -> Row | None:
        """``outputs``: the letters/ and signed/ folders' files, listed once per listing."""
        try:
            data = case.path.read_bytes()
            modified = case.path.stat().st_mtime_ns
        except OSError:
            return None  # removed while listing
        ready = self.readiness(case, data, today, profiles)
        status = ready.status
        if status is Status.ready and ready.case_id and ready.kind:
            letters, signed = outputs or (_modified(self.ws.letters), _modified(self.ws.signed))
            stem = f"{ready.case_id}-{ready.kind.value}"
            if signed.get(f"{stem}.pdf", -1) >= modified:
                status = Status.signed
            elif max(letters.get(f"{stem}.pdf", -1), letters.get(f"{stem}.docx", -1)) >= modified:
                status = Status.drafted
        days = (ready.deadline - today).days if ready.deadline else None
        return Row(case, ready, status, days)

    def rows(self, today: date, query: str = "", status: str = "") -> list[Row]:
        profiles: dict[str, tuple[Path | None, int]] = {}
        outputs = (_modified(self.ws.letters), _modified(self.ws.signed))
        found = [r for c in case_files(self.ws) if (r := self.row(c, today, profiles, outputs))]
        wanted = [r for r in found if r.matches(query) and (not status or r.status == status)]
        return sorted(wanted, key=lambda r: r.key)
