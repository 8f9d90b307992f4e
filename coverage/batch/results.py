"""What happened to one case file: the statuses and :class:`CaseResult`.

Kept apart from the report so a worker process imports only this small record to send back.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from pathlib import PurePosixPath

# statuses, in the order the summary lists them
WRITTEN = "written"
UP_TO_DATE = "up_to_date"
BLOCKED = "blocked"
FAILED = "failed"
NOT_RUN = "not_run"
STATUSES = (WRITTEN, UP_TO_DATE, BLOCKED, FAILED, NOT_RUN)
STATUS_LABELS = {
    WRITTEN: "written",
    UP_TO_DATE: "up to date (skipped)",
    BLOCKED: "blocked",
    FAILED: "failed",
    NOT_RUN: "not run",
}


def is_iso_date(text: str | None) -> bool:
    """Whether a filing-deadline cell holds a date (else it says why none was computed)."""
    try:
        date.fromisoformat(text or "")
    except ValueError:
        return False
    return True


def with_suffix(name: str, suffix: str) -> str:
    """The file of another format beside a letter: ``A-1-lmn.pdf`` -> ``A-1-lmn.docx``."""
    return str(PurePosixPath(name).with_suffix(suffix))


@dataclass(frozen=True)
class CaseResult:
    """What happened to one case file; small enough to send between processes.

    ``findings``: the advisory findings of a letter written (or up to date) and the blocking
    findings of a blocked case, each ``CODE field: rule`` (never a value of the case); the
    error lines for a failed one. ``filing_deadline``: for an appeal, the date it must be
    filed by (ISO), or why no date could be computed.
    ``output`` is the letter's file name inside the output folder, in the first format asked
    for; while a run is still going (in ``on_result``) it is None, because names are settled
    at the end. ``suffixes`` are the formats written, first one first; each further format's
    file is ``output`` with that suffix, its SHA-256 in ``extra_sha256``. :meth:`files` lists
    them all.
    """

    case_file: str
    status: str
    case_id: str | None = None
    kind: str | None = None
    findings: tuple[str, ...] = ()
    filing_deadline: str | None = None
    output: str | None = None
    output_sha256: str | None = None
    pages: int | None = None
    suffixes: tuple[str, ...] = (".pdf",)
    extra_sha256: tuple[str, ...] = ()  # one per suffix after the first
    note: str = ""
    case_sha256: str | None = None
    practice_sha256: str | None = None
    code_set_sha256: str | None = None  # a release the practice profile names; None: bundled
    letter_date: str | None = None
    dated_by_run: bool = False  # the case has no letter_date: the letter carries the run's date
    case_unusable: bool = False  # failed because the case file itself cannot be used
    stem: str | None = None  # the safe file-name stem (the case_id, as a rule)
    seconds: float = 0.0
    worker_pid: int | None = None
    worker_peak_rss_kb: int | None = None

    def files(self) -> list[tuple[str, str | None]]:
        """(file name, SHA-256) of every output of this case, first format first."""
        if self.output is None:
            return []
        hashes = (self.output_sha256, *self.extra_sha256)
        return [(with_suffix(self.output, suffix), digest)
                for suffix, digest in zip(self.suffixes, hashes, strict=False)]

    def report_row(self) -> dict:
        """The row of report.json (report.csv holds the same, findings joined by ' | ')."""
        return {
            "case_file": self.case_file,
            "case_id": self.case_id,
            "kind": self.kind,
            "status": self.status,
            "filing_deadline": self.filing_deadline,
            "findings": list(self.findings),
            "output": self.output,
            "output_sha256": self.output_sha256,
            "pages": self.pages,
            "other_outputs": [name for name, _ in self.files()[1:]],
            "note": self.note,
        }
